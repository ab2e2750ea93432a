"""JupyterLab settings for the demo: save widget state in the notebook, so a reopened notebook 03
shows the demo's last picture instead of "Error displaying widget: model not found".

JupyterLab reads every ``{sys.prefix}/share/jupyter/lab/settings/overrides.d/*.json`` as defaults
(a user's own settings still win). A wheel of this package installs `SETTINGS` there by itself
(pyproject.toml's data-files); an editable install (``pip install -e``, the Makefile's) cannot, so
the Makefile runs ``python -m textbook_core.widgets.lab_settings`` after it, which copies it.
"""
import json
import pathlib
import sys
from importlib import resources

SETTINGS = resources.files("textbook_core.widgets") / "textbook-core.json"
"""The overrides: ``{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}``."""


def target(prefix=sys.prefix):
    """Where JupyterLab running from `prefix` looks for the overrides."""
    return pathlib.Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "textbook-core.json"


def installed(prefix=sys.prefix):
    """True when JupyterLab from `prefix` gets these settings."""
    path = target(prefix)
    return path.is_file() and json.loads(path.read_text()) == json.loads(SETTINGS.read_text())


def install(prefix=sys.prefix):
    """Copy the overrides into `prefix` and return the path written."""
    path = target(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SETTINGS.read_text())
    return path


if __name__ == "__main__":
    print(f"JupyterLab saves widget state in notebooks: {install()}")
    sys.exit(0)
