//! Releases: the manifests a deploy would apply, and a deploy itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use platform_core::aws::AwsContext;
use platform_core::config;
use platform_ops::runtime;

use super::{AccountTarget, print_runtime, read_json};

#[derive(Debug, clap::Args)]
pub struct Render {
    #[arg(long)]
    env: String,
    /// The release: every image tagged with this name, unless `--release-file` pins tags.
    #[arg(long)]
    release: String,
    /// A release file (JSON: `{"name", "default_tag"?, "versions": {workload: tag}}`).
    #[arg(long)]
    release_file: Option<PathBuf>,
    /// The member account the manifests are for (the storage class names its key).
    #[arg(long)]
    account: String,
    /// The account of the central ECR the images are pulled from (template.yaml's
    /// `ImageRegistry`: the automation account).
    #[arg(long)]
    registry_account: String,
    /// The registry's region (default: the organisation's home region).
    #[arg(long)]
    region: Option<String>,
    /// The RDS-managed secret's ARN the database workloads are told to read with their role
    /// (the member's `/abc-trading/<env>/platform/database-secret-arn`); absent: not rendered.
    #[arg(long)]
    database_secret_arn: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Render {
    pub fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        let env = &self.env;
        tree.environment(env).ok_or_else(|| anyhow!("environment `{env}` is not in config/"))?;
        let release = match &self.release_file {
            Some(file) => {
                let r: platform_deploy::release::Release = serde_json::from_value(read_json(file)?)
                    .with_context(|| format!("{} is not a release file", file.display()))?;
                if r.name != self.release {
                    bail!("{} is release `{}`, not `{}`", file.display(), r.name, self.release);
                }
                r
            }
            None => platform_deploy::release::Release::uniform(&self.release),
        };
        let resolved = release.resolve(&tree.catalog)?;
        // The volumes' key is the member account's: the StorageClass names it.
        let target = platform_deploy::render::Target {
            account: self.account.clone(),
            database_secret_arn: self.database_secret_arn.clone(),
        };
        let registry = platform_deploy::render::Registry {
            account: self.registry_account,
            region: self.region.unwrap_or_else(|| tree.organization.home_region.clone()),
        };
        let manifests = platform_deploy::render::render(&tree, env, &resolved, &registry, &target)?;
        let text = platform_deploy::render::to_yaml_stream(&manifests);
        match self.out {
            Some(path) => {
                std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!(
                    "{} manifests of release {} for {env} written to {}",
                    manifests.len(),
                    resolved.name,
                    path.display()
                );
            }
            None => print!("{text}"),
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct Deploy {
    #[arg(long)]
    env: String,
    #[arg(long)]
    release: String,
    /// The member account. Absent: with --aws, every vended account of the environment in
    /// turn; locally, the world's account of the environment.
    #[arg(long)]
    account: Option<String>,
    /// Versions pinned per workload (JSON: `{"workload": "tag"}`), over the release's.
    #[arg(long)]
    versions: Option<PathBuf>,
    #[command(flatten)]
    target: AccountTarget,
}

impl Deploy {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        let (env, release) = (&self.env, &self.release);
        let versions: BTreeMap<String, String> = match &self.versions {
            Some(file) => serde_json::from_value(read_json(file)?)
                .with_context(|| format!("{} is not a map of workload to tag", file.display()))?,
            None => Default::default(),
        };
        let bus = tree.resource_prefix(&self.target.deployment);
        // The release is checked before anything starts: a bad one is named at once.
        platform_ops::account::release_event(&tree, env, None, release, &versions).map_err(anyhow::Error::msg)?;
        if self.target.aws {
            let event = platform_ops::account::release_event(&tree, env, self.account.as_deref(), release, &versions)
                .map_err(anyhow::Error::msg)?;
            let ctx = AwsContext::load().await?;
            let id = platform_ops::account::put_event(ctx.config(), &bus, &event).await?;
            let to = self.account.map(|a| format!("account {a}")).unwrap_or_else(|| "every vended account".into());
            println!("ReleaseRequested {id} on {bus}: {release} to {env}, {to}");
            return Ok(ExitCode::SUCCESS);
        }
        let up = runtime::local::start(root, self.target.local.endpoint.as_deref()).await?;
        let account = match self.account {
            Some(a) => a,
            None => up
                .world
                .accounts
                .iter()
                .find(|a| a.name == tree.resource_prefix(env))
                .map(|a| a.id.clone())
                .ok_or_else(|| anyhow!("the local world has no account for `{env}`: pass --account"))?,
        };
        let event = platform_ops::account::release_event(&tree, env, Some(&account), release, &versions)
            .map_err(anyhow::Error::msg)?;
        let dispatches = up.runtime.send_event(&bus, event).await?;
        print_runtime(&up.runtime, &dispatches, self.target.local.output)?;
        Ok(ExitCode::SUCCESS)
    }
}
