"""The ``crm`` command line, and the composition root: the one package that names every service.

``main`` runs, serves and migrates services and runs the provider sandbox;
``admin`` bootstraps the first admin and inspects provider events; ``contacts``
imports a CSV file through the HTTP API; ``startup`` holds what they all do
first. The plumbing package ``crm`` imports none of this.
"""
