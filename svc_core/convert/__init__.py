"""Conversion: a sung vocal + a voice -> the same performance in that voice.

The public face of the package (no torch at import): :class:`Converter` / :func:`load_converter` for files and
arrays, :class:`SegmentPipeline` for the per-segment model path (shared with the live engine and training
renders), the settings / result dataclasses, the structural types of the parts, and the feature helpers.
"""

from svc_core.convert.converter import Converter, load_converter
from svc_core.convert.f0_curve import load_f0_curve
from svc_core.convert.pipeline import SegmentPipeline
from svc_core.convert.protocols import ContentEncoderLike, F0ExtractorLike, VoiceLike
from svc_core.convert.settings import ConvertResult, ConvertSettings
from svc_core.features import stretch_units, volume_frames

__all__ = [
    "ContentEncoderLike",
    "ConvertResult",
    "ConvertSettings",
    "Converter",
    "F0ExtractorLike",
    "SegmentPipeline",
    "VoiceLike",
    "load_converter",
    "load_f0_curve",
    "stretch_units",
    "volume_frames",
]
