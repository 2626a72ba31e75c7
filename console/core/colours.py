"""Colours that mean the same thing on every screen and page."""

# What each kind of mark is drawn in, wherever marks are drawn: the live timeline and
# physiology, the review, the report. "plan step" and "habituation" are the plan's entries.
MARK_COLOURS = {
    "stimulus": "#7f8c8d",
    "rating": "#1f5f9f",
    "marker": "#6a3d9a",
    "safety": "#c0392b",
    "plan step": "#1e6b4a",
    "habituation": "#1e8449",
}
