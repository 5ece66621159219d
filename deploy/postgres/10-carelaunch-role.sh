#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: the application's own role and database.
# The role is NOSUPERUSER NOBYPASSRLS so row-level security applies to every query the app makes.
set -e
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE ROLE carelaunch LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${POSTGRES_APP_PASSWORD}';
CREATE DATABASE carelaunch OWNER carelaunch;
SQL
