#!/bin/bash
# The binary modules on the translated engine (ko-net --engine dbt: the
# module's code inside unicorn, ko/dbt.c): every check of test_ko_net.sh,
# which takes the engine from ENGINE.
ENGINE=dbt exec bash "$(dirname "$0")/test_ko_net.sh"
