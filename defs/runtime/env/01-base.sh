#!/bin/sh
# sifter: the first environment script sourced by every action; intentionally empty.
