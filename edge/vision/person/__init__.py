"""On-device person detection: the ONNX detector (SSD, YOLO), its pre- and post-processing, NMS
and tiling."""
