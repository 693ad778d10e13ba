"""Reports people look at: the weekly report, exports, App Home, SLO and error budget."""
