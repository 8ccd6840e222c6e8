"""Run as `python -m pulumi_edgee.plugin <engine>`, and copied into the plugin directory
`scripts/bundle_plugin.py` builds, which the Python language host runs as `venv/bin/python
<plugin directory> <engine>`: absolute imports, as the directory is then on `sys.path`
in place of the package."""

import sys

from pulumi_edgee.plugin import main

sys.exit(main())
