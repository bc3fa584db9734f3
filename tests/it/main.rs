//! hookbook's black-box tests, one binary: each module is a suite that
//! drives the real server (and its kernels, databases and browser) the way
//! its users do; `common` holds the helpers they share.

mod common;

mod abuse;
mod accessibility;
mod arcgis_client;
mod arcgis_errors;
mod arcgis_portal;
mod authz;
mod browser;
mod cli;
mod content;
mod crash;
mod dashboard;
mod delivery_log;
mod durability;
mod faults;
mod forgery;
mod forkserver;
mod formats;
mod fuzz;
mod intake;
mod items;
mod kernel;
mod leftovers;
mod live_pages;
mod migrations;
mod multinode;
mod nbserver;
mod notebook_pages;
mod notices;
mod oauth;
mod openapi;
mod page_forms;
mod pages;
mod readme;
mod receivers;
mod replay;
mod retries;
mod rights;
mod run_limits;
mod runs;
mod runtime_limits;
mod runtime_nodes;
mod runtime_runs;
mod runtime_store;
mod runtime_updates;
mod runtimes;
mod runtimes_api;
mod sandbox;
mod secrets;
mod site;
mod store;
mod tokens;
mod upload_store;
