"""The notify routes of the gateway: inboxes and read receipts, the
authority's publications, recipients' settings and webhook subscriptions.
A mixin of GatewayService (its RpcProxy `notify`). Who may read which inbox
is the notify service's to decide: it gets the account and its scope (for
commands, in the one `acting` context)."""

from .http_json import AUTHORITY, WRITERS, call, endpoint, read_json
from .server import http

INTEGRATION = ("integrator", "authority_admin")


def _who(self, request):
    return {"principal": request.principal.to_dict()}


def _who_and_scope(self, request):
    return {"principal": request.principal.to_dict(), "scope": self._scope(request)}


class NotifyRoutes:

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/notices")
    @endpoint("enterprises.notices")
    def enterprise_notices(self, request, enterprise_id):
        self._require_enterprise(request, enterprise_id)
        query = dict(request.args.to_dict(), recipient="enterprise:" + enterprise_id)
        return 200, call(self.notify.inbox, query, **_who_and_scope(self, request))

    @http("GET", "/api/v1/notices")
    @endpoint("notices.inbox")
    def inbox(self, request):
        """?recipient=grid:<grid> | authority | enterprise:<id>"""
        return 200, call(self.notify.inbox, request.args.to_dict(),
                         **_who_and_scope(self, request))

    @http("GET", "/api/v1/notices/<string:notice_id>")
    @endpoint("notices.get")
    def get_notice(self, request, notice_id):
        return 200, call(self.notify.get_notice, notice_id, **_who_and_scope(self, request))

    @http("POST", "/api/v1/notices/<string:notice_id>/read")
    @endpoint("notices.read", roles=WRITERS)
    def read_notice(self, request, notice_id):
        return 200, call(self.notify.read_notice, notice_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/publications")
    @endpoint("publications.publish", roles=AUTHORITY)
    def publish(self, request):
        return 201, call(self.notify.publish, read_json(request), **self._acting(request))

    @http("GET", "/api/v1/publications")
    @endpoint("publications.list", roles=AUTHORITY)
    def list_publications(self, request):
        return 200, call(self.notify.list_publications, request.args.to_dict())

    @http("GET", "/api/v1/publications/<string:publication_id>")
    @endpoint("publications.get", roles=AUTHORITY)
    def get_publication(self, request, publication_id):
        return 200, call(self.notify.get_publication, publication_id)

    @http("GET", "/api/v1/recipients/<string:recipient>/settings")
    @endpoint("recipients.settings.get")
    def recipient_settings(self, request, recipient):
        self._require_recipient(request, recipient)
        return 200, call(self.notify.recipient_settings, recipient,
                         **_who_and_scope(self, request))

    @http("PUT", "/api/v1/recipients/<string:recipient>/settings")
    @endpoint("recipients.settings.put", roles=WRITERS)
    def change_recipient_settings(self, request, recipient):
        self._require_recipient(request, recipient)
        return 200, call(self.notify.change_recipient_settings, recipient, read_json(request),
                         **self._acting(request))

    def _require_recipient(self, request, recipient):
        kind, _, enterprise_id = recipient.partition(":")
        if kind == "enterprise" and enterprise_id:
            self._require_enterprise(request, enterprise_id)

    @http("POST", "/api/v1/webhooks")
    @endpoint("webhooks.subscribe", roles=INTEGRATION)
    def subscribe_webhook(self, request):
        return 201, call(self.notify.subscribe_webhook, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/webhooks")
    @endpoint("webhooks.list", roles=INTEGRATION)
    def list_webhooks(self, request):
        return 200, call(self.notify.list_webhooks, request.args.to_dict(), **_who(self, request))

    @http("GET", "/api/v1/webhooks/<string:subscription_id>")
    @endpoint("webhooks.get", roles=INTEGRATION)
    def get_webhook(self, request, subscription_id):
        return 200, call(self.notify.get_webhook, subscription_id, **_who(self, request))

    @http("DELETE", "/api/v1/webhooks/<string:subscription_id>")
    @endpoint("webhooks.cancel", roles=INTEGRATION)
    def cancel_webhook(self, request, subscription_id):
        return 200, call(self.notify.cancel_webhook, subscription_id, **self._acting(request))

    @http("POST", "/api/v1/webhooks/<string:subscription_id>/secret-rotation")
    @endpoint("webhooks.rotate_secret", roles=INTEGRATION)
    def rotate_webhook_secret(self, request, subscription_id):
        return 200, call(self.notify.rotate_webhook_secret, subscription_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/webhooks/<string:subscription_id>/deliveries")
    @endpoint("webhooks.deliveries", roles=INTEGRATION)
    def webhook_deliveries(self, request, subscription_id):
        return 200, call(self.notify.webhook_deliveries, subscription_id, request.args.to_dict(),
                         **_who(self, request))
