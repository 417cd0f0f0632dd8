//! [`S3Store`]: the artifact store over one S3 bucket, keys as given (`runs/<run-id>/...`).
//!
//! The store never creates its bucket: `brood aws setup` does, with its lifecycle rule and tags.
//! Objects are written whole (results files and spilled messages are small, a few MB at most);
//! listing follows continuation tokens to the end.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use brood_cluster::{ArtifactStore, BackendError};

use crate::config::{region_of, s3_client};
use crate::failure::{code, from_sdk, permanent};

/// An [`ArtifactStore`] over an S3 bucket. Clones share the client.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    region: String,
}

impl S3Store {
    /// A store over `bucket`, which lives in `config`'s region (the deployment's home region).
    pub fn new(config: &SdkConfig, bucket: &str) -> S3Store {
        S3Store {
            client: s3_client(config),
            bucket: bucket.to_string(),
            region: region_of(config),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The underlying client, for what the store does not cover (bucket set-up, tagging).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// How errors name an object: `s3://bucket/key in region`.
    fn resource(&self, key: &str) -> String {
        format!("s3://{}/{key} in {}", self.bucket, self.region)
    }
}

#[async_trait]
impl ArtifactStore for S3Store {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk("PutObject", &self.resource(key), &e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let answer = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) if code(&e) == Some("NotFound") => return Ok(None),
            Err(e) => return Err(from_sdk("GetObject", &self.resource(key), &e)),
        };
        let body = answer.body.collect().await.map_err(|e| BackendError {
            transient: true,
            ..permanent(
                "GetObject",
                &self.resource(key),
                format!("reading the body: {e}"),
            )
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| from_sdk("ListObjectsV2", &self.resource(prefix), &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the trait's promise regardless.
        keys.sort();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| from_sdk("DeleteObject", &self.resource(key), &e))?;
        Ok(())
    }
}
