"""cnncalc in CI: checking many descriptions (``check``), budgets (``budget``), report formats (``formats``),
differences between two descriptions (``diff``) and the JSON Schema for editors (``schema``)."""
