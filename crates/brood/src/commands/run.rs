//! `brood run`: the flags become a [`RunInput`], checked into settings, and run in this process or
//! by the distributed controller.

use brood_control::{Outcome, RunInput, Settings};

use crate::cli::RunArgs;

/// `brood run`: in this process, or distributed when a backend or regions are named.
pub fn run(args: RunArgs) -> Outcome {
    let args = input(args);
    let demo = if args.demo_target {
        match brood_control::process::demo_target() {
            Some(t) => Some(t),
            None => return Outcome::Infrastructure,
        }
    } else {
        None
    };
    let demo_host = demo.as_ref().map(|t| format!("http://{}", t.addr()));
    let settings = match Settings::from_input(&args, demo_host.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::InvalidInput;
        }
    };
    if args.dry_run {
        print!("{}", brood_control::console::dry_run(&settings.plan));
        return Outcome::Success;
    }
    if args.backend.is_some() || args.regions.is_some() {
        return match brood_control::settings::dist_settings(&args) {
            Ok(dist) => brood_control::distributed::run(settings, dist),
            Err(e) => {
                eprintln!("brood: {e}");
                Outcome::InvalidInput
            }
        };
    }
    brood_control::single::run(settings)
}

/// The flags as the library's plain input.
fn input(args: RunArgs) -> RunInput {
    RunInput {
        url: args.url,
        scenario: args.scenario,
        data_dir: args.data_dir,
        host: args.host,
        users: args.users,
        spawn_rate: args.spawn_rate,
        run_time: args.run_time,
        stages: args.stages,
        arrival_rate: args.arrival_rate,
        arrival_unit: args.arrival_unit,
        max_users: args.max_users,
        wait: args.wait,
        stop_timeout: args.stop_timeout,
        thresholds: args.thresholds,
        abort_on_fail: args.abort_on_fail,
        csv: args.csv,
        csv_full_history: args.csv_full_history,
        json: args.json,
        junit: args.junit,
        html: args.html,
        exit_code_on_error: args.exit_code_on_error,
        insecure: args.insecure,
        http2: args.http2,
        threads: args.threads,
        max_body: args.max_body,
        allow_huge_load: args.allow_huge_load,
        demo_target: args.demo_target,
        quiet: args.quiet,
        dry_run: args.dry_run,
        tags: args.tags,
        exclude_tags: args.exclude_tags,
        backend: args.backend,
        regions: args.regions,
        workers: args.workers,
        deployment: args.deployment,
        instance_type: args.instance_type,
        max_instances: args.max_instances,
        max_cost: args.max_cost,
        price_file: args.price_file,
        requests_per_vcpu: args.requests_per_vcpu,
        spot: args.spot,
        worker_binary: args.worker_binary,
        vpc: args.vpc,
        subnets: args.subnets,
        security_group: args.security_group,
        ami: args.ami,
        ami_glibc: args.ami_glibc,
        profile: args.profile,
        region_latency: args.region_latency,
        provision_timeout: args.provision_timeout,
        barrier_timeout: args.barrier_timeout,
        start_with_fewer: args.start_with_fewer,
        heartbeat_timeout: args.heartbeat_timeout,
        results: args.results,
    }
}
