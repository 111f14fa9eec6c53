// ECS refusals in words a person understands; the server's Message is the fallback.

const SENTENCES = {
  ImageUsingByInstance:
    'Instances were launched from this image and still exist. Delete them first, or force the deletion (the instances keep running).',
  ImageUseShared:
    'The image is shared with other accounts. Stop sharing it with everyone before deleting it.',
  ImageIsPublic:
    'The image is published as a community image. Unpublish it before deleting it.',
  'OperationDenied.ImageCopying':
    'The image is still being copied. Cancel the copy (CancelCopyImage) or wait until it finishes.',
  ImageIsImporting: 'The image is still being imported. Cancel the import task or wait for it.',
  ImageIsExporting:
    'The image is being exported. Wait for the export task to finish or cancel it on the Tasks page.',
  ImageIsCreating: 'The image is still being created. Wait until it is Available.',
  'InvalidImageId.NotFound':
    'No image with this id belongs to your account in this region (it may be a system image, someone else’s, or already gone).',
  'InvalidInstanceId.NotFound': 'No instance with this id exists in your account.',
  'InvalidRegionId.NotFound': 'This region does not exist.',
  IncorrectInstanceStatus: 'The instance is not in a state that allows this (it must be Running or Stopped).',
  IncorrectImageStatus: 'The image is not in a state that allows this (it must be Available).',
  'InvalidImageName.Duplicated': 'You already have an image with this name in this region.',
  'InvalidImageName.Malformed':
    'Image names are 2–128 characters, start with a letter and use letters, digits, “.”, “:”, “_” or “-”.',
  'QuotaExceed.Image': 'Your account has reached its image quota in this region.',
  'QuotaExceed.ShareImageUser': 'The image is already shared with the maximum number of accounts.',
  'InvalidAccount.NotFound': 'One of the account ids does not exist.',
  'InvalidAccount.Forbbiden': 'You cannot share an image with your own account.',
  'InvalidOSSBucket.NotFound': 'There is no OSS bucket with this name in this region.',
  'OperationDenied.ImageCopyConflict': 'This image is already being copied; wait for that copy first.',
  'InvalidTaskId.IncorrectTaskStatus': 'The task has already finished and can no longer be cancelled.',
  'InvalidTaskId.TaskActionNotSupport': 'Only import and export tasks can be cancelled.',
  'InvalidAccessKeyId.NotFound': 'This AccessKey ID is unknown to ecsim.',
  'InvalidAccessKeyId.Inactive': 'This AccessKey is disabled.',
  SignatureDoesNotMatch: 'The AccessKey Secret does not match the AccessKey ID.',
  'SignatureNonceUsed': 'The request was replayed; try again.',
  'InvalidTimeStamp.Expired': 'This computer’s clock differs too much from the server’s.',
};

/** One sentence for a refusal (Code is shown next to it by the caller). */
export function explain(error) {
  const code = error.code || '';
  if (SENTENCES[code]) return SENTENCES[code];
  if (code.startsWith('Forbidden.RAM') || code === 'Forbidden' || code.startsWith('NoPermission')) {
    return 'Your RAM identity is not allowed to do this. An administrator can grant it with a RAM policy.';
  }
  if (code.startsWith('Missing')) return `A required parameter is missing: ${error.message}`;
  return error.message || 'The request failed.';
}
