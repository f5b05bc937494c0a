#!/usr/bin/env bash
echo "e2e mock not written yet"; exit 1
