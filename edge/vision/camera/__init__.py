"""Cameras: frame sources (synthetic, picamera2, USB, files, RTSP), live capture that never lags,
and camera health."""
