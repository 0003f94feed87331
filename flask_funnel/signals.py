"""Blinker signals: how a host app hears about what the funnel records.

Receivers get the Flask app as sender plus keyword arguments; they run after the
database transaction committed, so the ids they receive are real rows.
"""

from blinker import Namespace

_signals = Namespace()

#: A quiz submission was stored. Keyword arguments: ``lead_id``, ``submission_id``,
#: ``page`` (slug), ``created`` (True for a new lead), ``quarantined``.
lead_captured = _signals.signal("funnel-lead-captured")

#: A lead moved between stages. Keyword arguments: ``lead_id``, ``from_stage``,
#: ``to_stage``, ``actor``, ``reason``.
stage_changed = _signals.signal("funnel-stage-changed")
