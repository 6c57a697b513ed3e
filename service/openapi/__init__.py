"""The OpenAPI document of the service (:mod:`service.openapi.document`, one module per area)
and its two routes, ``/openapi.json`` and ``/docs`` (:mod:`service.openapi.docs`)."""
