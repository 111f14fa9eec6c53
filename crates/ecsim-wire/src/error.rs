//! The one error catalog. Every error ecsim answers is an [`ApiError`] built from a [`Code`];
//! the code's HTTP status, wire name and default message live in [`Code::spec`] and nowhere else.

use std::borrow::Cow;

/// Every error code ecsim can answer, named after its wire spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    // Gateway and protocol (spec ecs-image-api §1.6).
    /// `Missing{Param}`: the code itself carries the parameter name; see [`ApiError::missing`].
    MissingNamed,
    MissingParameter,
    InvalidParameter,
    InvalidVersion,
    InvalidActionNotFound,
    InvalidRegionIdNotFound,
    SignatureDoesNotMatch,
    IncompleteSignature,
    SignatureNonceUsed,
    InvalidTimeStampExpired,
    InvalidTimeStampFormat,
    InvalidAccessKeyIdNotFound,
    InvalidAccessKeyIdInactive,
    Throttling,
    ForbiddenRam,
    UnsupportedHttpMethod,
    IdempotentParameterMismatch,
    IdempotenceParamNotMatch,
    DryRunOperation,
    RequestTooLarge,
    InternalError,
    ServiceUnavailable,
    // Images.
    InvalidImageIdNotFound,
    ImageUsingByInstance,
    ImageUseShared,
    ImageCopying,
    ImageIsImporting,
    ImageIsExporting,
    NoSetRoleToEcsServiceAccount,
    ImageIsPublic,
    ImageIsCreating,
    InvalidImageNameMalformed,
    InvalidImageNameDuplicated,
    InvalidDescriptionMalformed,
    InvalidImageFamilyMalformed,
    InvalidBootModeNotSupport,
    ImageStatusNotAvailable,
    ImageStatusNotDeprecated,
    ModifyImageUseShared,
    ModifyBootModeImageUsingByInstance,
    InvalidStatusImageIsCreating,
    InvalidImageOwnerAliasValueNotSupported,
    InvalidImageOwnerAliasPublicImageUnsupported,
    InvalidImageOwnerIdUnsupported,
    InvalidTagMismatch,
    InvalidTagCount,
    InvalidUsage,
    InvalidOsType,
    InvalidArchitecture,
    InvalidFilterKeyNotFound,
    InvalidFilterValue,
    CreateImageSourceMissing,
    DiskMappingNoSystemSnapshot,
    DiskMappingTwoSystemSnapshots,
    QuotaExceedImage,
    OperationDeniedImageNotValid,
    ImageNotSupportInstanceType,
    // Sharing (spec §3.5).
    ImagePublic,
    ImageNotPublic,
    QuotaExceedShareImage,
    QuotaExceedShareImageUser,
    ShareEncryptedSnapshot,
    ShareInvalidImageStatus,
    InvalidParameterIsPublic,
    InvalidAccountNotFound,
    InvalidAccountForbidden,
    // Import, export, copy and tasks (spec §3.7–§3.13).
    InvalidOssBucketNotFound,
    InvalidOssObjectNotFound,
    InvalidImageFormatMalformed,
    IncorrectImageStatus,
    SourceRegionNotFound,
    DestinationRegionNotFound,
    OperationDeniedCommunityImage,
    OperationDeniedImageCopyConflict,
    OperationDeniedSameRegionOnly,
    ImageCreatedNotFromCopy,
    InvalidTaskIdNotFound,
    InvalidTaskIdTaskActionNotSupport,
    InvalidTaskIdIncorrectTaskStatus,
    InvalidOssPrefixMalformed,
    ImageNotSupported,
    ImageNotSupportedEncrypted,
    // Instances and disks.
    InvalidInstanceIdNotFound,
    IncorrectInstanceStatus,
    CreateImageIncorrectInstanceStatus,
    InvalidZoneIdNotFound,
    InvalidInstanceTypeValueNotSupported,
    InvalidStatusNotFound,
    InvalidDiskIdNotFound,
    InvalidSystemDiskSizeLessThanImageSize,
    // Snapshots.
    InvalidSnapshotIdNotFound,
    CreateImageSnapshotNotFound,
    SnapshotNotReady,
    SnapshotCreatedImage,
    IncorrectDiskStatusCreatingSnapshot,
    InvalidSnapshotNameMalformed,
    // Tags.
    NumberExceedResourceIds,
    NumberExceedTags,
    InvalidResourceIdNotFound,
    InvalidResourceTypeNotFound,
    /// `MissingParameter.{Param}` of the tag APIs; see [`ApiError::missing_dotted`].
    MissingParameterDotted,
    InvalidTagKeyMalformed,
    InvalidTagValueMalformed,
    DuplicateTagKey,
    QuotaExceedTags,
    // Regions.
    InvalidAcceptLanguageNotFound,
    // RAM and STS (spec ram-authorization §4, §6).
    /// A RAM management call denied by policy.
    NoPermission,
    /// An STS call denied by policy (or a root account assuming a role).
    NoPermissionSts,
    InvalidSecurityTokenExpired,
    InvalidSecurityTokenMalformed,
    InvalidSecurityTokenMismatch,
    MissingSecurityToken,
    MalformedPolicyDocument,
    /// `InvalidParameter.{Param}.{Problem}` of RAM and STS; see [`ApiError::invalid_parameter_dotted`].
    InvalidParameterDotted,
    EntityNotExistUser,
    EntityNotExistGroup,
    EntityNotExistRole,
    EntityNotExistPolicy,
    EntityNotExistPolicyVersion,
    EntityNotExistUserAccessKey,
    EntityNotExistUserPolicy,
    EntityNotExistGroupPolicy,
    EntityNotExistRolePolicy,
    EntityNotExistUserGroup,
    EntityAlreadyExistsUser,
    EntityAlreadyExistsGroup,
    EntityAlreadyExistsRole,
    EntityAlreadyExistsPolicy,
    EntityAlreadyExistsUserPolicy,
    EntityAlreadyExistsGroupPolicy,
    EntityAlreadyExistsRolePolicy,
    EntityAlreadyExistsUserGroup,
    LimitExceededUser,
    LimitExceededGroup,
    LimitExceededRole,
    LimitExceededPolicy,
    LimitExceededPolicyVersion,
    LimitExceededUserAccessKey,
    LimitExceededUserGroup,
    LimitExceededUserPolicy,
    LimitExceededGroupPolicy,
    LimitExceededRolePolicy,
    DeleteConflictUserAccessKey,
    DeleteConflictUserGroup,
    DeleteConflictUserPolicy,
    DeleteConflictGroupUser,
    DeleteConflictGroupPolicy,
    DeleteConflictRolePolicy,
    DeleteConflictPolicyUser,
    DeleteConflictPolicyGroup,
    DeleteConflictPolicyRole,
    DeleteConflictPolicyVersion,
    DeleteConflictPolicyVersionDefault,
}

impl Code {
    /// The catalog: HTTP status, wire code and default message of each code.
    pub fn spec(self) -> (u16, &'static str, &'static str) {
        use Code::*;
        match self {
            MissingNamed => (400, "Missing", "A mandatory parameter is not supplied."),
            MissingParameter => (
                400,
                "MissingParameter",
                "The input parameter that is mandatory for processing this request is not supplied.",
            ),
            InvalidParameter => (
                400,
                "InvalidParameter",
                "The specified parameter is not valid.",
            ),
            InvalidVersion => (
                400,
                "InvalidVersion",
                "Specified parameter Version is not valid.",
            ),
            InvalidActionNotFound => (
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            ),
            InvalidRegionIdNotFound => (
                404,
                "InvalidRegionId.NotFound",
                "The specified RegionId does not exist.",
            ),
            SignatureDoesNotMatch => (
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            ),
            IncompleteSignature => (
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            ),
            SignatureNonceUsed => (
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ),
            InvalidTimeStampExpired => (
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            ),
            InvalidTimeStampFormat => (
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ),
            InvalidAccessKeyIdNotFound => (
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ),
            InvalidAccessKeyIdInactive => (
                400,
                "InvalidAccessKeyId.Inactive",
                "Specified access key is disabled.",
            ),
            Throttling => (
                400,
                "Throttling",
                "Request was denied due to request throttling.",
            ),
            ForbiddenRam => (
                403,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
            ),
            UnsupportedHttpMethod => (
                403,
                "UnsupportedHTTPMethod",
                "This HTTP method is not supported.",
            ),
            IdempotentParameterMismatch => (
                400,
                "IdempotentParameterMismatch",
                "The request is retried with updated parameters.",
            ),
            IdempotenceParamNotMatch => (
                400,
                "IdempotenceParamNotMatch",
                "Request uses a client token in a previous request but is not identical to that request.",
            ),
            DryRunOperation => (
                400,
                "DryRunOperation",
                "Request validation has been passed with DryRun flag set.",
            ),
            RequestTooLarge => (
                413,
                "RequestEntityTooLarge",
                "The request is larger than the service accepts.",
            ),
            InternalError => (
                500,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
            ),
            ServiceUnavailable => (
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ),
            InvalidImageIdNotFound => (
                404,
                "InvalidImageId.NotFound",
                "The specified ImageId does not exist.",
            ),
            ImageUsingByInstance => (
                403,
                "ImageUsingByInstance",
                "The specified image has been used to create instances. You can use the DescribeInstances API to query these instances, or you can use the force parameter to proceed.",
            ),
            ImageUseShared => (
                403,
                "ImageUseShared",
                "The specified image has been shared to others. You can use the DescribeImageSharePermission API to query the users who have been shared.",
            ),
            ImageCopying => (
                403,
                "OperationDenied.ImageCopying",
                "The image is being copied. Please use the CancelCopyImage API.",
            ),
            ImageIsImporting => (403, "ImageIsImporting", "The specified Image is importing."),
            NoSetRoleToEcsServiceAccount => (
                403,
                "NoSetRoletoECSServiceAcount",
                "ECS service account Have no right to access your OSS.please attach a role of access your oss to ECS service account.",
            ),
            ImageIsExporting => (
                403,
                "ImageIsExporting",
                "The specified image is currently being exported. You can use the DescribeTasks API to check the status of related tasks and cancel them if needed.",
            ),
            ImageIsPublic => (
                403,
                "ImageIsPublic",
                "You can not delete public image, please modify it to private.",
            ),
            ImageIsCreating => (
                403,
                "ImageIsCreating",
                "The specified image is being created.",
            ),
            InvalidImageNameMalformed => (
                400,
                "InvalidImageName.Malformed",
                "Image names must be between 2 and 128 characters long, using either English or Chinese characters. The name must start with a letter or a Chinese character, and can include numbers, colons, underscores and hyphens.",
            ),
            InvalidImageNameDuplicated => (
                400,
                "InvalidImageName.Duplicated",
                "The specified image name is already in use.",
            ),
            InvalidDescriptionMalformed => (
                400,
                "InvalidDescription.Malformed",
                "The specified description is wrongly formed.",
            ),
            InvalidImageFamilyMalformed => (
                400,
                "InvalidImageFamily.Malformed",
                "The specified parameter \"ImageFamily\" is malformed.",
            ),
            InvalidBootModeNotSupport => (
                400,
                "InvalidBootMode.NotSupport",
                "The specified parameter BootMode is not supported.",
            ),
            ImageStatusNotAvailable => (
                403,
                "ImageStatus.NotAvailable",
                "The specified image status is not available.",
            ),
            ImageStatusNotDeprecated => (
                403,
                "ImageStatus.NotDeprecated",
                "The specified image status is not deprecated.",
            ),
            ModifyImageUseShared => (
                403,
                "ImageUseShared",
                "The specified image has been shared to others, please remove shared accounts first.",
            ),
            ModifyBootModeImageUsingByInstance => (
                403,
                "OperationDeined.ImageUsingByInstance",
                "The boot mode of the image cannot be modified because it has associated instances.",
            ),
            InvalidStatusImageIsCreating => (
                403,
                "InvalidStatus.ImageIsCreating",
                "The operation cannot be performed because the image is creating. Please wait until the creation is complete and try again.",
            ),
            InvalidImageOwnerAliasValueNotSupported => (
                400,
                "InvalidImageOwnerAlias.ValueNotSupported",
                "The specified ImageOwnerAlias value is not supported.",
            ),
            InvalidImageOwnerAliasPublicImageUnsupported => (
                400,
                "InvalidImageOwnerAlias.PublicImageUnsupported",
                "When querying images, the parameter ImageOwnerAlias should be others while specified parameter IsPublic is true.",
            ),
            InvalidImageOwnerIdUnsupported => (
                400,
                "InvalidOperation.ImageOwnerIdUnsupported",
                "The parameter \"ImageOwnerId\" is not supported in this context, it is only valid when querying shared images or community images.",
            ),
            InvalidTagMismatch => (
                400,
                "InvalidTag.Mismatch",
                "The specified Tag.n.Key and Tag.n.Value are not match.",
            ),
            InvalidTagCount => (
                400,
                "InvalidTagCount",
                "The specified tags are beyond the permitted range.",
            ),
            InvalidUsage => (404, "InvalidUsage", "The specified Usage is not valid."),
            InvalidOsType => (404, "InvalidOSType", "The specified OSType is not valid."),
            InvalidArchitecture => (
                404,
                "InvalidArchitecture",
                "The specified Architecture is not valid.",
            ),
            InvalidFilterKeyNotFound => (
                404,
                "InvalidFilterKey.NotFound",
                "The specified Filter Key is not found.",
            ),
            InvalidFilterValue => (
                404,
                "InvalidFilterValue",
                "The specified Filter Value is not valid.",
            ),
            CreateImageSourceMissing => (
                400,
                "MissingParameter",
                "The input parameter SnapshotId or InstanceId or DiskDeviceMapping that is mandatory for processing this request is not supplied.",
            ),
            DiskMappingNoSystemSnapshot => (
                400,
                "OperationDenied",
                "The specified parameter DiskDeviceMapping.n.SnapshotId does not contain system disk snapshot.",
            ),
            DiskMappingTwoSystemSnapshots => (
                400,
                "OperationDenied",
                "The specified parameter DiskDeviceMapping.n.SnapshotId contains two or more system disk snapshots.",
            ),
            QuotaExceedImage => (403, "QuotaExceed.Image", "The Image Quota exceeds."),
            OperationDeniedImageNotValid => (
                403,
                "OperationDenied.ImageNotValid",
                "The specified Image is disabled or is deleted.",
            ),
            ImageNotSupportInstanceType => (
                403,
                "ImageNotSupportInstanceType",
                "The specified image does not support the specified InstanceType.",
            ),
            ImagePublic => (403, "Image.Public", "The specified image is public image."),
            ImageNotPublic => (
                403,
                "Image.NotPublic",
                "The specified image is not public image.",
            ),
            QuotaExceedShareImage => (
                403,
                "QuotaExceed.ShareImage",
                "The shared Image Quota exceeds.",
            ),
            QuotaExceedShareImageUser => (
                403,
                "QuotaExceed.ShareImageUser",
                "The shared Image user Quota exceeds.",
            ),
            ShareEncryptedSnapshot => (
                403,
                "OperationDeined.EncryptedSnapshot",
                "The image contains encrypted snapshots, which do not support share.",
            ),
            ShareInvalidImageStatus => (
                403,
                "OperationDenied.InvalidImageStatus",
                "The specified image cannot be shared when it is deprecated.",
            ),
            InvalidParameterIsPublic => (
                403,
                "InvalidParameter.IsPublic",
                "The specified parameter IsPublic is conflicted with other parameters.",
            ),
            InvalidAccountNotFound => (
                404,
                "InvalidAccount.NotFound",
                "The specified parameter \"AddAccount.n\" or \"RemoveAccount.n\" does not exist.",
            ),
            InvalidAccountForbidden => (
                404,
                "InvalidAccount.Forbbiden",
                "The specified Account does not yourself.",
            ),
            InvalidOssBucketNotFound => (
                400,
                "InvalidOSSBucket.NotFound",
                "The specified OSS bucket does not exist in this region.",
            ),
            InvalidOssObjectNotFound => (
                400,
                "InvalidOSSObject.NotFound",
                "The specified OSS object does not exist in this region.",
            ),
            InvalidImageFormatMalformed => (
                400,
                "InvalidImageFormat.Malformed",
                "The specified Image Format is wrongly formed.",
            ),
            IncorrectImageStatus => (
                400,
                "IncorrectImageStatus",
                "The specified Image is not available.",
            ),
            SourceRegionNotFound => (400, "SourceRegion.NotFound", "The source region not found."),
            DestinationRegionNotFound => (
                400,
                "DestinationRegion.NotFound",
                "The destination region not found.",
            ),
            OperationDeniedCommunityImage => (
                400,
                "OperationDenied.CommunityImage",
                "Community image does not support copy.",
            ),
            OperationDeniedImageCopyConflict => (
                400,
                "OperationDenied.ImageCopyConflict",
                "The same image cannot be copied concurrently. Please wait until the last copy is completed before performing the next operation.",
            ),
            OperationDeniedSameRegionOnly => (
                403,
                "OperationDenied.SameRegionOnly",
                "The image shared from others can not be copied to another region directly.",
            ),
            ImageCreatedNotFromCopy => (
                400,
                "ImageCreatedNotFromCopy",
                "The specified image is not the target image of a copy action.",
            ),
            InvalidTaskIdNotFound => (
                400,
                "InvalidTaskId.NotFound",
                "The specified \"TaskId\" is not found.",
            ),
            InvalidTaskIdTaskActionNotSupport => (
                403,
                "InvalidTaskId.TaskActionNotSupport",
                "The specified task action not support.",
            ),
            InvalidTaskIdIncorrectTaskStatus => (
                403,
                "InvalidTaskId.IncorrectTaskStatus",
                "The specified task status is not invalid.",
            ),
            InvalidOssPrefixMalformed => (
                400,
                "InvalidOSSPrefix.Malformed",
                "The specified OSSPrefix is wrongly formed.",
            ),
            ImageNotSupportedEncrypted => (
                400,
                "ImageNotSupported",
                "The specified Image contains encrypted snapshots, do not support export.",
            ),
            ImageNotSupported => (
                403,
                "ImageNotSupported",
                "The specified image from the image market, do not support export image.",
            ),
            InvalidInstanceIdNotFound => (
                404,
                "InvalidInstanceId.NotFound",
                "The specified InstanceId does not exist.",
            ),
            IncorrectInstanceStatus => (
                403,
                "IncorrectInstanceStatus",
                "The current status of the resource does not support this operation.",
            ),
            CreateImageIncorrectInstanceStatus => (
                400,
                "IncorrectInstanceStatus",
                "The current status of the instance does not support this operation.",
            ),
            InvalidZoneIdNotFound => (
                404,
                "InvalidZoneId.NotFound",
                "The specified zoneId does not exist.",
            ),
            InvalidInstanceTypeValueNotSupported => (
                400,
                "InvalidInstanceType.ValueNotSupported",
                "The specified instance type does not exist. You can use the DescribeInstanceTypes API to query the available instance types.",
            ),
            InvalidStatusNotFound => (
                404,
                "InvalidStatus.NotFound",
                "The specified Status is not found",
            ),
            InvalidDiskIdNotFound => (
                404,
                "InvalidDiskId.NotFound",
                "The specified DiskId does not exist.",
            ),
            InvalidSystemDiskSizeLessThanImageSize => (
                404,
                "InvalidSystemDiskSize.LessThanImageSize",
                "The specified parameter SystemDisk.Size is less than the image size.",
            ),
            InvalidSnapshotIdNotFound => (
                404,
                "InvalidSnapshotId.NotFound",
                "The specified snapshot is not found",
            ),
            CreateImageSnapshotNotFound => (
                404,
                "InvalidSnapshotId.NotFound",
                "The specified SnapshotId does not exist.",
            ),
            SnapshotNotReady => (
                403,
                "SnapshotNotReady",
                "The specified snapshot is not ready.",
            ),
            SnapshotCreatedImage => (
                403,
                "SnapshotCreatedImage",
                "The snapshot has been used to create user defined image(s).",
            ),
            IncorrectDiskStatusCreatingSnapshot => (
                403,
                "IncorrectDiskStatus.CreatingSnapshot",
                "A previous snapshot creation is in process.",
            ),
            InvalidSnapshotNameMalformed => (
                400,
                "InvalidSnapshotName.Malformed",
                "The specified snapshot name is wrongly formed.",
            ),
            NumberExceedResourceIds => (
                400,
                "NumberExceed.ResourceIds",
                "The ResourceIds parameter's number is exceed , Valid : 50",
            ),
            NumberExceedTags => (
                400,
                "NumberExceed.Tags",
                "The Tags parameter's number is exceed , Valid : 20",
            ),
            InvalidResourceIdNotFound => (
                404,
                "InvalidResourceId.NotFound",
                "The specified ResourceIds are not found in our records.",
            ),
            InvalidResourceTypeNotFound => (
                404,
                "InvalidResourceType.NotFound",
                "The ResourceType provided does not exist in our records.",
            ),
            MissingParameterDotted => (
                404,
                "MissingParameter",
                "A mandatory parameter should not be null",
            ),
            InvalidTagKeyMalformed => (
                400,
                "InvalidTagKey.Malformed",
                "The specified Tag.n.Key is not valid.",
            ),
            InvalidTagValueMalformed => (
                400,
                "InvalidTagValue.Malformed",
                "The specified Tag.n.Value is not valid.",
            ),
            DuplicateTagKey => (
                400,
                "Duplicate.TagKey",
                "The Tag.N.Key contain duplicate key.",
            ),
            QuotaExceedTags => (
                400,
                "OperationDenied.QuotaExceed",
                "The quota of tags on resource is beyond permitted range.",
            ),
            InvalidAcceptLanguageNotFound => (
                404,
                "InvalidAcceptLanguage.NotFound",
                "Only Chinese (zh-CN), English (en-US), and Japanese (ja) are allowed.",
            ),
            NoPermission => (
                403,
                "NoPermission",
                "You are not authorized to do this action.",
            ),
            NoPermissionSts => (
                403,
                "NoPermission",
                "You are not authorized to do this action. You should be authorized by RAM.",
            ),
            InvalidSecurityTokenExpired => (
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ),
            InvalidSecurityTokenMalformed => (
                400,
                "InvalidSecurityToken.Malformed",
                "Specified SecurityToken is malformed.",
            ),
            InvalidSecurityTokenMismatch => (
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            ),
            MissingSecurityToken => (
                400,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ),
            MalformedPolicyDocument => (
                400,
                "MalformedPolicyDocument",
                "The policy document is malformed.",
            ),
            InvalidParameterDotted => (
                400,
                "InvalidParameter",
                "The specified parameter is not valid.",
            ),
            EntityNotExistUser => (404, "EntityNotExist.User", "The user does not exist."),
            EntityNotExistGroup => (404, "EntityNotExist.Group", "The group does not exist."),
            EntityNotExistRole => (404, "EntityNotExist.Role", "The role does not exist."),
            EntityNotExistPolicy => (404, "EntityNotExist.Policy", "The policy does not exist."),
            EntityNotExistPolicyVersion => (
                404,
                "EntityNotExist.Policy.Version",
                "The policy version does not exist.",
            ),
            EntityNotExistUserAccessKey => (
                404,
                "EntityNotExist.User.AccessKey",
                "The user access key does not exist.",
            ),
            EntityNotExistUserPolicy => (
                404,
                "EntityNotExist.User.Policy",
                "The indicate policy of the user does not exist.",
            ),
            EntityNotExistGroupPolicy => (
                404,
                "EntityNotExist.Group.Policy",
                "The indicate policy attached to the group does not exist.",
            ),
            EntityNotExistRolePolicy => (
                404,
                "EntityNotExist.Role.Policy",
                "The indicate policy attached to the role does not exist.",
            ),
            EntityNotExistUserGroup => (
                404,
                "EntityNotExist.User.Group",
                "The user has not joined the group.",
            ),
            EntityAlreadyExistsUser => (
                409,
                "EntityAlreadyExists.User",
                "The user does already EXIST.",
            ),
            EntityAlreadyExistsGroup => (
                409,
                "EntityAlreadyExists.Group",
                "The group does already EXIST.",
            ),
            EntityAlreadyExistsRole => (
                409,
                "EntityAlreadyExists.Role",
                "The role does already EXIST.",
            ),
            EntityAlreadyExistsPolicy => (
                409,
                "EntityAlreadyExists.Policy",
                "The policy does already EXIST.",
            ),
            EntityAlreadyExistsUserPolicy => (
                409,
                "EntityAlreadyExists.User.Policy",
                "The user has already been attached this policy.",
            ),
            EntityAlreadyExistsGroupPolicy => (
                409,
                "EntityAlreadyExists.Group.Policy",
                "The group has already been attached this policy.",
            ),
            EntityAlreadyExistsRolePolicy => (
                409,
                "EntityAlreadyExists.Role.Policy",
                "The role has already been attached this policy.",
            ),
            EntityAlreadyExistsUserGroup => (
                409,
                "EntityAlreadyExists.User.Group",
                "The user has already joined the group.",
            ),
            LimitExceededUser => (
                409,
                "LimitExceeded.User",
                "The count of users beyond the current limits.",
            ),
            LimitExceededGroup => (
                409,
                "LimitExceeded.Group",
                "The count of groups beyond the current limits.",
            ),
            LimitExceededRole => (
                409,
                "LimitExceeded.Role",
                "The count of roles beyond the current limits.",
            ),
            LimitExceededPolicy => (
                409,
                "LimitExceeded.Policy",
                "The count of policy beyond the current limits.",
            ),
            LimitExceededPolicyVersion => (
                409,
                "LimitExceeded.Policy.Version",
                "The count of policy version beyond the current limits.",
            ),
            LimitExceededUserAccessKey => (
                409,
                "LimitExceeded.User.AccessKey",
                "The access key count of the user access keys beyond the current limits.",
            ),
            LimitExceededUserGroup => (
                409,
                "LimitExceeded.User.Group",
                "The count of groups the target user joined beyond the current limits.",
            ),
            LimitExceededUserPolicy => (
                409,
                "LimitExceeded.User.Policy",
                "The policy count of the user attached policies beyond the current limits.",
            ),
            LimitExceededGroupPolicy => (
                409,
                "LimitExceeded.Group.Policy",
                "The policy count of the group beyond the current limits.",
            ),
            LimitExceededRolePolicy => (
                409,
                "LimitExceeded.Role.Policy",
                "The count of policies attached to the role beyond the current limits.",
            ),
            DeleteConflictUserAccessKey => (
                409,
                "DeleteConflict.User.AccessKey",
                "The user CAN NOT has any access key while deleting the user.",
            ),
            DeleteConflictUserGroup => (
                409,
                "DeleteConflict.User.Group",
                "The user CAN NOT be in any group while deleting the user.",
            ),
            DeleteConflictUserPolicy => (
                409,
                "DeleteConflict.User.Policy",
                "The user CAN NOT has any attached policy while deleting the user.",
            ),
            DeleteConflictGroupUser => (
                409,
                "DeleteConflict.Group.User",
                "The group CAN NOT has any user member while deleting the group.",
            ),
            DeleteConflictGroupPolicy => (
                409,
                "DeleteConflict.Group.Policy",
                "The entity CAN NOT has any attached policy while deleting the group.",
            ),
            DeleteConflictRolePolicy => (
                409,
                "DeleteConflict.Role.Policy",
                "The role CAN NOT has any attached policy while deleting the role.",
            ),
            DeleteConflictPolicyUser => (
                409,
                "DeleteConflict.Policy.User",
                "The policy CAN NOT been attached to any user while deleting the policy.",
            ),
            DeleteConflictPolicyGroup => (
                409,
                "DeleteConflict.Policy.Group",
                "The policy CAN NOT been attached to any group while deleting the policy.",
            ),
            DeleteConflictPolicyRole => (
                409,
                "DeleteConflict.Policy.Role",
                "The policy CAN NOT been attached to any role while deleting the policy.",
            ),
            DeleteConflictPolicyVersion => (
                409,
                "DeleteConflict.Policy.Version",
                "The policy CAN NOT has any version except the default version.",
            ),
            DeleteConflictPolicyVersionDefault => (
                409,
                "DeleteConflict.Policy.Version.Default",
                "The default policy version CAN NOT been deleted directly.",
            ),
        }
    }
}

/// An error as it goes on the wire. Small (the rare parts are boxed) because every fallible
/// function in ecsim returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: Code,
    message: Cow<'static, str>,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Extra {
    /// Replaces the catalog's code string, for codes that embed a name (`MissingRegionId`).
    code_text: Option<String>,
    /// `AccessDeniedDetail` of RAM denials, already shaped for the body.
    access_denied_detail: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: Code) -> Self {
        Self {
            code,
            message: Cow::Borrowed(code.spec().2),
            extra: None,
        }
    }

    /// The same code with a message that names the offending value.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// The gateway's form for a parameter the operation's metadata requires: `MissingRegionId`
    /// "RegionId is mandatory for this action."
    pub fn missing(param: &str) -> Self {
        Self {
            code: Code::MissingNamed,
            message: Cow::Owned(format!("{param} is mandatory for this action.")),
            extra: Some(Box::new(Extra {
                code_text: Some(format!("Missing{}", param.replace('.', ""))),
                access_denied_detail: None,
            })),
        }
    }

    /// The tag APIs' form: 404 `MissingParameter.RegionId` "The parameter - RegionId should not be null".
    pub fn missing_dotted(param: &str) -> Self {
        Self {
            code: Code::MissingParameterDotted,
            message: Cow::Owned(format!("The parameter - {param} should not be null")),
            extra: Some(Box::new(Extra {
                code_text: Some(format!("MissingParameter.{param}")),
                access_denied_detail: None,
            })),
        }
    }

    /// The operations' long form of a missing parameter.
    pub fn missing_parameter(param: &str) -> Self {
        Self::new(Code::MissingParameter).with_message(format!(
            "The input parameter \"{param}\" that is mandatory for processing this request is not supplied."
        ))
    }

    /// `InvalidParameter` naming the parameter and what is wrong with it.
    pub fn invalid_parameter(param: &str, why: &str) -> Self {
        Self::new(Code::InvalidParameter).with_message(format!(
            "The specified parameter \"{param}\" is not valid: {why}"
        ))
    }

    /// RAM's and STS's dotted parameter codes, e.g. 400 `InvalidParameter.UserName.Length`
    /// (`suffix` = `UserName.Length`), and the policy engine's `InvalidParameter.*` codes.
    pub fn invalid_parameter_dotted(suffix: &str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: Code::InvalidParameterDotted,
            message: message.into(),
            extra: Some(Box::new(Extra {
                code_text: Some(format!("InvalidParameter.{suffix}")),
                access_denied_detail: None,
            })),
        }
    }

    /// The message carries the server's string to sign after a colon: the classic Python SDK
    /// splits on `:` and compares it with its own to tell a wrong secret from a wrong canonical form.
    pub fn signature_mismatch(string_to_sign: &str) -> Self {
        Self::new(Code::SignatureDoesNotMatch).with_message(format!(
            "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
        ))
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn status(&self) -> u16 {
        self.code.spec().0
    }

    pub fn code_str(&self) -> &str {
        self.extra
            .as_ref()
            .and_then(|e| e.code_text.as_deref())
            .unwrap_or(self.code.spec().1)
    }

    /// Attaches the `AccessDeniedDetail` object of a RAM denial.
    pub fn with_access_denied_detail(mut self, detail: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .access_denied_detail = Some(detail);
        self
    }

    pub fn access_denied_detail(&self) -> Option<&serde_json::Value> {
        self.extra
            .as_ref()
            .and_then(|e| e.access_denied_detail.as_ref())
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_named_builds_the_gateway_code() {
        let e = ApiError::missing("RegionId");
        assert_eq!(e.code_str(), "MissingRegionId");
        assert_eq!(e.message(), "RegionId is mandatory for this action.");
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn signature_mismatch_message_splits_on_colon_like_the_classic_sdk() {
        let e = ApiError::signature_mismatch("GET&%2F&A%3Db");
        let parts: Vec<&str> = e.message().split(':').collect();
        assert_eq!(parts[1], "GET&%2F&A%3Db");
    }

    #[test]
    fn delete_image_codes_match_the_reference_page() {
        assert_eq!(
            Code::ImageUsingByInstance.spec(),
            (
                403,
                "ImageUsingByInstance",
                "The specified image has been used to create instances. You can use the DescribeInstances API to query these instances, or you can use the force parameter to proceed."
            )
        );
        assert_eq!(Code::InvalidImageIdNotFound.spec().0, 404);
        assert_eq!(Code::ImageIsPublic.spec().1, "ImageIsPublic");
    }
}
