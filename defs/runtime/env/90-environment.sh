#!/bin/sh
# sifter: the definition file's %environment section is appended here.

# Custom environment shell code should follow
