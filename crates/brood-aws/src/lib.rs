//! brood's AWS data plane: how a deployment names its resources, and (to come) the SQS transport
//! and S3 artifact store that the controller and `brood worker --backend aws` use.

mod naming;

pub use naming::{Deployment, TAG_DEPLOYMENT, TAG_MANAGED_BY, TAG_RUN};
