//! The system policies ecsim ships (spec §5.4): `PolicyType=System`, not editable, addressed as
//! `acs:ram:*:system:policy/<name>`.
//!
//! The exact live texts were not retrievable; these are the documented shapes (open question
//! 13), to be reconciled with the console before claiming parity. Every text here is parsed by
//! the same validator as custom policies (a unit test proves they all pass).

use std::sync::OnceLock;

use crate::policy::PolicyDocument;

/// One system policy: its name, its description (as GetPolicy returns it) and its document.
/// Fields are private so that every value is an entry of [`ALL`].
#[derive(Debug)]
pub struct SystemPolicy {
    name: &'static str,
    description: &'static str,
    document: &'static str,
}

impl SystemPolicy {
    /// The policy name, e.g. `AliyunECSFullAccess`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The description GetPolicy returns.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The document text, as GetPolicyVersion returns it.
    pub fn document(&self) -> &'static str {
        self.document
    }

    /// The parsed document, parsed once per process.
    pub fn parsed(&self) -> &'static PolicyDocument {
        static PARSED: OnceLock<Vec<PolicyDocument>> = OnceLock::new();
        let all = PARSED.get_or_init(|| {
            ALL.iter()
                .map(|p| {
                    PolicyDocument::parse_identity(p.document)
                        .expect("system policy texts are valid (tested)")
                })
                .collect()
        });
        let index = ALL
            .iter()
            .position(|p| p.name == self.name)
            .expect("SystemPolicy values exist only in ALL (private fields)");
        &all[index]
    }

    /// `acs:ram:*:system:policy/<name>`.
    pub fn arn(&self) -> String {
        format!("acs:ram:*:system:policy/{}", self.name)
    }

    /// The default version's ID; system policies are reported at their current version.
    pub fn default_version(&self) -> &'static str {
        "v1"
    }
}

/// Looks a system policy up by name (case-insensitively, like every RAM entity name — open
/// question 11).
pub fn find(name: &str) -> Option<&'static SystemPolicy> {
    ALL.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Every system policy, in the order ListPolicies shows them.
pub const ALL: &[SystemPolicy] = &[
    SystemPolicy {
        name: "AdministratorAccess",
        description: "Provides full access to Alibaba Cloud services and resources.",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#,
    },
    SystemPolicy {
        name: "ReadOnlyAccess",
        description: "Provides read-only access to Alibaba Cloud services and resources.",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "*:Describe*",
        "*:List*",
        "*:Get*",
        "*:BatchGet*",
        "*:Query*",
        "*:BatchQuery*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    SystemPolicy {
        name: "AliyunECSFullAccess",
        description: "Provides full access to Elastic Compute Service (ECS).",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "ecs:*",
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": "vpc:Describe*",
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": "ram:PassRole",
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "acs:Service": "ecs.aliyuncs.com"
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "ram:CreateServiceLinkedRole",
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "ram:ServiceName": "ecs.aliyuncs.com"
        }
      }
    }
  ]
}"#,
    },
    SystemPolicy {
        name: "AliyunECSReadOnlyAccess",
        description: "Provides read-only access to Elastic Compute Service (ECS).",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecs:Describe*",
        "ecs:List*",
        "vpc:Describe*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    SystemPolicy {
        name: "AliyunSTSAssumeRoleAccess",
        description: "Provides access to call the AssumeRole operation of Security Token Service (STS).",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Resource": "*"
    }
  ]
}"#,
    },
    SystemPolicy {
        name: "AliyunRAMReadOnlyAccess",
        description: "Provides read-only access to Resource Access Management (RAM).",
        document: r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ram:Get*",
        "ram:List*",
        "ram:GenerateCredentialReport"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_parses_and_names_are_unique() {
        for (i, p) in ALL.iter().enumerate() {
            PolicyDocument::parse_identity(p.document).unwrap();
            assert!(!p.parsed().statements().is_empty());
            assert!(
                ALL[..i]
                    .iter()
                    .all(|q| !q.name.eq_ignore_ascii_case(p.name))
            );
            assert!(
                p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            );
        }
    }

    #[test]
    fn lookup() {
        let p = find("aliyunecsfullaccess").unwrap();
        assert_eq!(p.name, "AliyunECSFullAccess");
        assert_eq!(p.arn(), "acs:ram:*:system:policy/AliyunECSFullAccess");
        assert!(find("NoSuchPolicy").is_none());
        for name in [
            "AdministratorAccess",
            "ReadOnlyAccess",
            "AliyunECSFullAccess",
            "AliyunECSReadOnlyAccess",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
    }
}
