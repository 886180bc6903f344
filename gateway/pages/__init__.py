"""The pages people use in a browser, server-rendered in Chinese: modules of routes per audience
(for staff ``staff``, ``training`` and ``messages``; for operators ``console``), the stylesheet
(``assets``), and what every page shares (``rendering``, ``forms``, ``paging``). Templates live
under ``gateway/templates``; the route modules join the areas of ``gateway.routes`` and describe
their paths in the OpenAPI document, as every area does."""
