"""The notify routes of the gateway: inboxes and read receipts, the
authority's publications, recipients' settings and webhook subscriptions.
A mixin of GatewayService (its RpcProxy `notify`)."""
from nameko.web.handlers import http

from .http_json import call, endpoint, read_json


class NotifyRoutes:

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/notices")
    @endpoint("enterprises.notices")
    def enterprise_notices(self, request, enterprise_id):
        self._require_enterprise(enterprise_id, as_field=False)
        query = dict(request.args.to_dict(), recipient="enterprise:" + enterprise_id)
        return 200, call(self.notify.inbox, query)

    @http("GET", "/api/v1/notices")
    @endpoint("notices.inbox")
    def inbox(self, request):
        """?recipient=grid:<grid> | authority | enterprise:<id>"""
        return 200, call(self.notify.inbox, request.args.to_dict())

    @http("GET", "/api/v1/notices/<string:notice_id>")
    @endpoint("notices.get")
    def get_notice(self, request, notice_id):
        return 200, call(self.notify.get_notice, notice_id)

    @http("POST", "/api/v1/notices/<string:notice_id>/read")
    @endpoint("notices.read")
    def read_notice(self, request, notice_id):
        return 200, call(self.notify.read_notice, notice_id, read_json(request))

    @http("POST", "/api/v1/publications")
    @endpoint("publications.publish")
    def publish(self, request):
        return 201, call(self.notify.publish, read_json(request))

    @http("GET", "/api/v1/publications")
    @endpoint("publications.list")
    def list_publications(self, request):
        return 200, {"items": call(self.notify.list_publications)}

    @http("GET", "/api/v1/publications/<string:publication_id>")
    @endpoint("publications.get")
    def get_publication(self, request, publication_id):
        return 200, call(self.notify.get_publication, publication_id)

    @http("GET", "/api/v1/recipients/<string:recipient>/settings")
    @endpoint("recipients.settings.get")
    def recipient_settings(self, request, recipient):
        self._require_recipient(recipient)
        return 200, call(self.notify.recipient_settings, recipient)

    @http("PUT", "/api/v1/recipients/<string:recipient>/settings")
    @endpoint("recipients.settings.put")
    def change_recipient_settings(self, request, recipient):
        self._require_recipient(recipient)
        return 200, call(self.notify.change_recipient_settings, recipient, read_json(request))

    def _require_recipient(self, recipient):
        kind, _, enterprise_id = recipient.partition(":")
        if kind == "enterprise" and enterprise_id:
            self._require_enterprise(enterprise_id, as_field=False)

    @http("POST", "/api/v1/webhooks")
    @endpoint("webhooks.subscribe")
    def subscribe_webhook(self, request):
        return 201, call(self.notify.subscribe_webhook, read_json(request))

    @http("GET", "/api/v1/webhooks")
    @endpoint("webhooks.list")
    def list_webhooks(self, request):
        return 200, {"items": call(self.notify.list_webhooks)}

    @http("GET", "/api/v1/webhooks/<string:subscription_id>")
    @endpoint("webhooks.get")
    def get_webhook(self, request, subscription_id):
        return 200, call(self.notify.get_webhook, subscription_id)

    @http("DELETE", "/api/v1/webhooks/<string:subscription_id>")
    @endpoint("webhooks.cancel")
    def cancel_webhook(self, request, subscription_id):
        return 200, call(self.notify.cancel_webhook, subscription_id)

    @http("GET", "/api/v1/webhooks/<string:subscription_id>/deliveries")
    @endpoint("webhooks.deliveries")
    def webhook_deliveries(self, request, subscription_id):
        return 200, {"items": call(self.notify.webhook_deliveries, subscription_id,
                                   request.args.to_dict())}
