import sys

from edgetk.cli import main

sys.exit(main())
