"""What the cameras see: frame sources, QR reading at the door, on-device person detection and
the perimeter watch of quarantined households' doors."""
