"""The dashboard's widgets: header, step tree, step panes with their live pane, footer gauges, modals."""
