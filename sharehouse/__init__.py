"""sharehouse: a shared-house text adventure, simulator, session store and evaluator for YNTP research."""

import logging

__version__ = "0.1.0"

# A library's records go nowhere until an application configures logging (the `sharehouse`
# command does, in sharehouse.logs); without this, Python would print WARNINGs bare on stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())
