"""Local emulations of the outside providers: a test and demo double of the outside world.

Not part of any service. ``server.ProviderSandbox`` answers on one port like
Twilio (``twilio``), SendGrid (``sendgrid``) and Mailjet (``mailjet``) would;
the ``courier`` posts the webhooks they would post; ``outcomes`` lists the
magic addresses that choose what happens to a message; ``sandbox_mode``
builds the sandbox from a deployment's settings (``crm sandbox``). ``google``
answers as Google's OAuth 2.0 and People API do (``google_oauth``,
``google_people``, over ``google_store``), for contact sync.
"""
