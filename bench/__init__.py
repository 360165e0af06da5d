"""Benchmarks behind BENCHMARKS.md, each run from the repository root as `python -m bench.NAME`.

    learning     expert, BC, DAgger and BC on as many labels, scored side by side
    scores       more games for trained checkpoints; evaluations pooled, with Welch's interval
    demo         `mimic demo` end to end, timed
    planner      the planning expert's labelling speed and scores
    play_loop    the play loop with recording against the 60 Hz frame budget
    compression  bytes per recorded frame on disk
    throughput   training and evaluation throughput, inference latency, peak memory
"""
