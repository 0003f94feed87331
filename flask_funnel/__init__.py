"""flask-funnel: landing pages with short picture quizzes, lead capture and funnel stages."""

from flask_funnel.extension import Funnel
from flask_funnel.signals import lead_captured, lead_erased, purchase_recorded, stage_changed

__version__ = "0.1.0"

__all__ = [
    "Funnel",
    "__version__",
    "lead_captured",
    "lead_erased",
    "purchase_recorded",
    "stage_changed",
]
