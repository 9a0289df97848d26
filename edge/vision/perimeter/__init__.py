"""The perimeter watch: zones in front of households' doors, tracking, and alerts with snapshots
when a person enters an armed zone."""
