"""Blueprints of the funnel."""
