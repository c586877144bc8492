#!/bin/bash
. "$FM_SOURCE/tests/e2e/lib.sh"; fm_skip_all "not written yet"
