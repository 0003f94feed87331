"""The admin area: one blueprint with the guard; sign-in, the dashboard, the page
preview, making an A/B test's winner the default and the webhook log nested in it."""

from flask_funnel.views.admin import leads  # noqa: F401  (its routes join the blueprint)
from flask_funnel.views.admin.blueprint import admin
from flask_funnel.views.admin.dashboard import dashboard
from flask_funnel.views.admin.preview import preview
from flask_funnel.views.admin.sign_in import auth
from flask_funnel.views.admin.webhooks import webhooks
from flask_funnel.views.admin.winner import winner

admin.register_blueprint(auth)
admin.register_blueprint(dashboard)
admin.register_blueprint(preview)
admin.register_blueprint(winner)
admin.register_blueprint(webhooks)

__all__ = ["admin"]
