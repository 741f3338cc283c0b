"""`make reproduce`: every table and figure of the Allspark and TReX papers, ours beside the paper's.

``python -m studies.reproduce [--fast] [--out runs/reproduce] [--only FIGURE ...]`` writes one folder
per figure (``data.csv``: ours, paper, relative error, tolerance, within; a PNG drawn like the
paper's figure with the paper's values overlaid; ``results.json``: the points' raw results) and
``fidelity.md`` (one line per metric, the reason where not within, the measured wall time).

One module per figure (``FIGURES`` below, in report order), measurement in :mod:`.measure` and the
figure modules, drawing in :mod:`.plots`, paper values in :mod:`.paper_values` only.
"""

FIGURES = (
    "trex_table4", "trex_fig11_12", "trex_comparisons", "trex_fig15", "trex_reuse_accuracy",
    "allspark_table4", "allspark_table5", "allspark_fig11", "allspark_fig12", "allspark_fig13",
    "allspark_table6", "allspark_batch",
)
