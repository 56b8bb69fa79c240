"""Summary statistics of clip sets: per-clip features, set-level targets and distances.

One implementation serves real and simulated clips alike.
"""

__all__: list[str] = []
