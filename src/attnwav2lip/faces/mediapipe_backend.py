"""MediaPipe 0.10.14 legacy solutions: BlazeFace detection and the optional 468-point face mesh.

Both models ship inside the mediapipe wheel, so nothing is downloaded. BlazeFace squeezes the
whole frame into 128x128 (short range) or 192x192 (full range), so on wide frames faces shrink
below its smallest anchor. ``tiles`` also searches square tiles of the frame's shorter side
(merging the results): "auto" only when the whole frame gives no face (one call per frame for
talking heads), "always", or "never" (a 46 px face in a 1280x720 frame needs them, see
docs/faces.md). The mesh runs on a crop around each detected face (not on the whole frame), so
its cost is per face; its points (mediapipe's canonical 468-point indexing) give the lip and jaw
contours used for blend masks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import ConfigError, DependencyError
from ..native_stderr import without_native_chatter
from .boxes import BoxAdjust, merge_overlapping
from .detection import Detections, Detector

# BlazeFace's native boxes mapped to the face-oval convention; fit on skimage's astronaut and
# matplotlib's grace_hopper (benchmarks/bench_faces.py prints the residual IoU).
_ADJUST = {
    "short": BoxAdjust(dx=0.0, dy=-0.067, sw=0.96, sh=1.06),
    "full": BoxAdjust(dx=0.0, dy=0.03, sw=0.91, sh=1.0),
}
MESH_POINTS = 468
_TILES = ("auto", "always", "never")
_MESH_CONTEXT = 1.6  # the mesh sees the face box grown by this factor (it expects some margin)


def import_solutions() -> Any:
    """The legacy ``mediapipe.python.solutions`` package, or DependencyError."""
    # each process() call of mediapipe 0.10.14 trips this protobuf deprecation, a warning for its authors
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                            category=UserWarning)
    try:
        from mediapipe.python import solutions
    except ImportError as exc:
        raise DependencyError(
            f"mediapipe 0.10.14 is not importable ({exc}); install it with "
            "`pip install --no-deps mediapipe==0.10.14` plus the 'faces' extra"
        ) from None
    return solutions


class MediaPipeDetector(Detector):
    """BlazeFace short-range (faces within ~2 m) or full-range model, plus optional mesh landmarks."""

    name = "mediapipe"

    def __init__(
        self,
        *,
        model: str = "full",
        min_score: float = 0.5,
        landmarks: bool = False,
        tiles: str = "auto",
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        if model not in _ADJUST:
            raise ConfigError(f"model must be one of {sorted(_ADJUST)}, got {model!r}")
        if tiles not in _TILES:
            raise ConfigError(f"tiles must be one of {', '.join(_TILES)}, got {tiles!r}")
        solutions = import_solutions()
        self.model = model
        self.min_score = min_score
        self.landmarks = landmarks
        self.tiles = tiles
        self.box_adjust = _ADJUST[model]
        with without_native_chatter():  # the graphs log their start-up to stderr: create and run them once here
            self._detector = solutions.face_detection.FaceDetection(
                model_selection=0 if model == "short" else 1, min_detection_confidence=min_score
            )
            self._mesh = (
                solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
                if landmarks
                else None
            )
            blank = np.zeros((64, 64, 3), np.uint8)
            for graph in (self._detector, self._mesh):
                if graph is not None:
                    graph.process(blank)

    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        return [self._detect_one(np.ascontiguousarray(frame)) for frame in frames]

    def _detect_one(self, frame: np.ndarray) -> Detections:
        boxes, scores = self._blazeface(frame, 0, 0)
        if self.tiles == "always" or (self.tiles == "auto" and not boxes):
            for x0, y0, tile in self._tiles(frame):
                more = self._blazeface(tile, x0, y0)
                boxes, scores = boxes + more[0], scores + more[1]
        if not boxes:
            return Detections.empty()
        keep = merge_overlapping(np.asarray(boxes, np.float32), np.asarray(scores, np.float32))
        boxes_arr = np.asarray(boxes, np.float32)[keep]
        marks = np.stack([self._mesh_points(frame, b) for b in boxes_arr]) if self._mesh is not None else None
        return Detections(boxes_arr, np.asarray(scores, np.float32)[keep], marks)

    def _blazeface(self, view: np.ndarray, x0: int, y0: int) -> tuple[list[list[float]], list[float]]:
        """Boxes (offset by x0, y0) and scores of one BlazeFace call."""
        height, width = view.shape[:2]
        boxes, scores = [], []
        for det in self._detector.process(np.ascontiguousarray(view)).detections or []:
            rel = det.location_data.relative_bounding_box
            x1, y1 = x0 + rel.xmin * width, y0 + rel.ymin * height
            boxes.append([x1, y1, x1 + rel.width * width, y1 + rel.height * height])
            scores.append(float(det.score[0]))
        return boxes, scores

    def _tiles(self, frame: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """Square tiles of the frame's shorter side along the longer one (none for near-square frames)."""
        height, width = frame.shape[:2]
        side, long = min(height, width), max(height, width)
        if long <= 1.2 * side:
            return []
        tiles = []
        for start in np.linspace(0, long - side, int(np.ceil(long / side)) + 1).round().astype(int):
            y0, x0 = (0, int(start)) if width > height else (int(start), 0)
            tiles.append((x0, y0, frame[y0 : y0 + side, x0 : x0 + side]))
        return tiles

    def _mesh_points(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        """468 mesh points for the face in ``box``; NaN where the mesh finds no face in the crop."""
        height, width = frame.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = max(box[2] - box[0], box[3] - box[1]) * _MESH_CONTEXT / 2
        x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
        x2, y2 = int(min(width, cx + half)), int(min(height, cy + half))
        crop = np.ascontiguousarray(frame[y1:y2, x1:x2])
        result = self._mesh.process(crop) if crop.size else None
        if result is None or not result.multi_face_landmarks:
            return np.full((MESH_POINTS, 2), np.nan, np.float32)
        pts = result.multi_face_landmarks[0].landmark
        rel = np.array([(p.x, p.y) for p in pts], np.float32)
        return rel * np.array([x2 - x1, y2 - y1], np.float32) + np.array([x1, y1], np.float32)

    def settings(self) -> dict[str, Any]:
        import mediapipe

        return {
            **super().settings(),
            "model": self.model,
            "min_score": self.min_score,
            "landmarks": self.landmarks,
            "tiles": self.tiles,
            "mediapipe": mediapipe.__version__,
        }

    def close(self) -> None:
        self._detector.close()
        if self._mesh is not None:
            self._mesh.close()
