"""The pages people use in a browser, server-rendered in Chinese: one module of routes per audience
(``staff`` now), the stylesheet (``assets``), and what every page shares (``rendering``, ``forms``,
``paging``). Templates live under ``gateway/templates``; the route modules join the areas of
``gateway.routes`` and describe their paths in the OpenAPI document, as every area does."""
