"""Run as `python -m pulumi_edgee.plugin <engine>` or, by the Python language host, as
`python <plugin directory> <engine>`: absolute imports, as the directory is then on
`sys.path` in place of the package."""

import sys

from pulumi_edgee.plugin import main

sys.exit(main())
