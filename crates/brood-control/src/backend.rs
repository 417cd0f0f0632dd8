//! The backends a distributed run can use, each as the three things the controller needs: a
//! queue transport, an artifact store and a fleet; plus where the run's results end up locally.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use brood_cluster::{ArtifactStore, Fleet, Transport};
use brood_protocol::RunId;

use crate::error::Error;
use crate::settings::{DistSettings, Settings};

pub use crate::aws::SpendCap;

/// This machine's name, for the run lock.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The three parts of a backend a distributed run uses.
pub struct Backend {
    /// `local` or `aws`, for the history and the manifest.
    pub name: &'static str,
    pub transport: Arc<dyn Transport>,
    pub store: Arc<dyn ArtifactStore>,
    pub fleet: Arc<dyn Fleet>,
    /// The store is remote: the run's files are downloaded into the results folder at the end.
    remote: bool,
    /// Held while the run goes on: it stops when the estimate of what it spent reaches the cap.
    pub spend_cap: Option<SpendCap>,
    /// The deployment's run lock (aws): held from before the fleet starts until it is down.
    lock: Option<brood_aws_fleet::lock::RunLock>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A backend from its parts, whose store is read in place (no download at the end).
    pub fn new(
        name: &'static str,
        transport: Arc<dyn Transport>,
        store: Arc<dyn ArtifactStore>,
        fleet: Arc<dyn Fleet>,
    ) -> Backend {
        Backend {
            name,
            transport,
            store,
            fleet,
            remote: false,
            spend_cap: None,
            lock: None,
        }
    }

    /// The same backend, its spending held to `cap` while the run goes on.
    pub fn with_spend_cap(self, cap: SpendCap) -> Backend {
        Backend {
            spend_cap: Some(cap),
            ..self
        }
    }

    /// Builds the backend `dist` names. For aws this also checks the deployment, the targets, the
    /// fleet's size and its cost before anything starts, and may set the workers per region.
    pub async fn build(
        settings: &Settings,
        dist: &mut DistSettings,
        run: &RunId,
    ) -> Result<Backend, Error> {
        let Some(aws_settings) = dist.aws.take() else {
            return Self::local(dist);
        };
        let prepared = crate::aws::prepare(settings, dist, &aws_settings).await;
        let (aws, deployment, config, spend_cap) = prepared?;
        // The fleet may take the provisioning timeout to come up, then the barrier's.
        let stop_after = brood_aws_fleet::fleet::stop_after(
            settings.plan.run_time(),
            settings.plan.stop_timeout,
            dist.provision_timeout + dist.barrier_timeout,
        );
        // Last of the checks, so that a run refused for its target or cost holds nothing. The
        // lock expires when the groups stop by their scheduled action anyway.
        let lock = brood_aws_fleet::lock::acquire(
            &aws,
            &deployment.name,
            &config.bucket,
            brood_aws_fleet::lock::LockHolder::new(run.as_str(), &host_name(), stop_after),
        )
        .await?;
        if let Some(note) = &lock.note {
            eprintln!("brood: {note}");
        }
        let home = aws.config(&aws.home_region);
        let store = brood_aws::S3Store::new(&home, &config.bucket);
        let transport = brood_aws::SqsTransport::new(
            &home,
            deployment.clone(),
            brood_aws::S3Store::new(&home, &config.bucket),
        );
        let fleet = brood_aws_fleet::AsgFleet::new(
            aws,
            deployment,
            config,
            brood_aws_fleet::FleetOptions {
                run_id: run.to_string(),
                worker_binary: aws_settings.worker_binary.clone(),
                instance_type: aws_settings.instance_type.clone(),
                ami: aws_settings.ami.clone(),
                spot: aws_settings.spot,
                idle_exit: crate::aws::IDLE_EXIT.into(),
                stop_after,
            },
        );
        dist.aws = Some(aws_settings);
        Ok(Backend {
            name: "aws",
            transport: Arc::new(transport),
            store: Arc::new(store),
            fleet: Arc::new(fleet),
            remote: true,
            spend_cap,
            lock: Some(lock),
        })
    }

    fn local(dist: &DistSettings) -> Result<Backend, Error> {
        let fleet = brood_local::LocalFleet::new(
            std::env::current_exe().unwrap_or_else(|_| "brood".into()),
            dist.results.clone(),
        );
        let fleet = dist.latencies.iter().fold(fleet, |f, (region, latency)| {
            f.with_latency(region.clone(), *latency)
        });
        Ok(Backend {
            name: "local",
            transport: Arc::new(
                brood_local::SqliteTransport::open_in(&dist.results)
                    .map_err(anyhow::Error::from)?,
            ),
            store: Arc::new(brood_local::DirStore::new(dist.results.clone())),
            fleet: Arc::new(fleet),
            remote: false,
            spend_cap: None,
            lock: None,
        })
    }

    /// Gives up the deployment's run lock, if the run holds one; what went wrong, if anything.
    pub async fn release(&mut self) -> Option<String> {
        let lock = self.lock.take()?;
        match lock.release().await {
            Ok(_) => None,
            Err(e) => Some(format!(
                "deployment {}: the run lock stays until it expires: {e}",
                lock.deployment()
            )),
        }
    }

    /// Copies what the workers stored under `runs/<run>/` into the local run folder (the local
    /// backend's store is that folder already).
    pub async fn download(&self, run: &RunId, run_dir: &Path) -> Result<usize> {
        if !self.remote {
            return Ok(0);
        }
        let prefix = format!("runs/{run}/");
        let keys = self.store.list(&prefix).await?;
        for key in &keys {
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            // Keys come from the bucket: refuse any that would leave the run folder.
            if rest
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
            {
                continue;
            }
            if let Some(bytes) = self.store.get(key).await? {
                let path = run_dir.join(rest);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(keys.len())
    }
}
