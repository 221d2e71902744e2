#!/bin/sh
# In an image build nothing may start services: packages such as nginx or
# redis-server would otherwise try to start theirs from their install scripts.
exit 101
