"""Open311 GeoReport v2 in domain terms: client keys, our categories as services, public views of
tickets, and filing a request as a ticket routed like any other. `web/open311` speaks the HTTP side."""
