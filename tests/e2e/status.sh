#!/usr/bin/env bash
echo "e2e status not written yet"; exit 1
