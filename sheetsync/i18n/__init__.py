"""Words at the edge: per-language message catalogues from ``sheet_templates/<language>/``."""

from .catalogue import (DEFAULT_LANGUAGE, Catalogue, MissingMessage, active, languages, load_catalogue,
                        set_language, t, with_overrides)
from .changes import describe_changes

__all__ = ["DEFAULT_LANGUAGE", "Catalogue", "MissingMessage", "active", "describe_changes", "languages",
           "load_catalogue", "set_language", "t", "with_overrides"]
