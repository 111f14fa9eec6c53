// The Images page: the account's view of DescribeImages in one region, with the actions ECS
// offers on images. Every action is one signed API call; refusals are shown in words.

import { call } from './api.js';
import { explain } from './errors.js';
import { fill, formDialog, h, modal } from './dom.js';

const POLL_MS = 1500;
const IN_PROGRESS = new Set(['Creating', 'Waiting']);
const STATUS_CHOICES = [
  { value: 'ALL', label: 'Any status' },
  { value: 'Available', label: 'Available' },
  { value: 'Creating,Waiting', label: 'Creating / Waiting' },
  { value: 'CreateFailed', label: 'CreateFailed' },
  { value: 'Deprecated', label: 'Deprecated' },
];
const OWNER_CHOICES = [
  { value: '', label: 'All owners' },
  { value: 'self', label: 'My images' },
  { value: 'system', label: 'System images' },
  { value: 'others', label: 'Shared with me' },
];

/** The instance type RunInstances gets for an image of this architecture. */
function instanceTypeFor(image) {
  return image.Architecture === 'arm64' ? 'ecs.g8y.large' : 'ecs.g7.large';
}

function shareState(image) {
  if (image.ImageOwnerAlias !== 'self') return '—';
  if (image.IsPublic) return 'public (community)';
  if (image.IsSelfShared === 'True') return 'shared';
  return 'private';
}

function statusCell(image) {
  const inProgress = IN_PROGRESS.has(image.Status);
  const percent = parseInt(image.Progress, 10) || 0;
  return h(
    'td',
    { class: 'status' },
    h('span', { class: `badge ${image.Status}`, 'data-status': image.Status }, image.Status),
    inProgress
      ? h(
          'div',
          { class: 'progress' },
          h('progress', { max: 100, value: percent, 'aria-label': 'progress' }),
          h('small', {}, image.Progress || '0%'),
        )
      : null,
  );
}

export function imagesPage(root, app, generation) {
  const filters = { owner: '', status: 'ALL', name: '', pageSize: 20, page: 1 };
  const table = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  let timer;

  const select = (choices, key) =>
    h(
      'select',
      {
        onchange: (e) => {
          filters[key] = e.target.value;
          filters.page = 1;
          refresh();
        },
      },
      choices.map((c) => h('option', { value: c.value, selected: c.value === filters[key] }, c.label)),
    );
  const nameFilter = h('input', {
    type: 'search',
    placeholder: 'Name contains…',
    'aria-label': 'Name contains',
  });
  nameFilter.addEventListener('change', () => {
    filters.name = nameFilter.value.trim();
    filters.page = 1;
    refresh();
  });

  fill(
    root,
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, `Images · ${app.region}`),
        h('span', { class: 'grow' }),
        select(OWNER_CHOICES, 'owner'),
        select(STATUS_CHOICES, 'status'),
        nameFilter,
        h('button', { onclick: () => refresh() }, 'Refresh'),
        h('button', { class: 'primary', id: 'create-image', onclick: createImage }, 'Create image…'),
      ),
      table,
      pager,
    ),
  );

  async function run(action) {
    try {
      await action();
    } catch (e) {
      app.showError(e);
    }
    await refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    if (generation !== app.generation) return;
    let body;
    try {
      body = await call('DescribeImages', {
        RegionId: app.region,
        ImageOwnerAlias: filters.owner,
        Status: filters.status,
        ImageName: filters.name,
        PageSize: filters.pageSize,
        PageNumber: filters.page,
      });
    } catch (e) {
      app.showError(e);
      return;
    }
    if (generation !== app.generation) return;
    const images = body.Images?.Image || [];
    render(images);
    renderPager(body.TotalCount || 0);
    // "Image m-… is being created" must not outlive the creation: say how it ended.
    for (const image of images) {
      if (!IN_PROGRESS.has(image.Status) && app.noticeIsAbout(image.ImageId)) {
        app.showNotice(`Image ${image.ImageId} is ${image.Status}.`);
      }
    }
    // Live progress: keep asking while anything shown is still being created or copied.
    if (images.some((i) => IN_PROGRESS.has(i.Status))) {
      timer = setTimeout(refresh, POLL_MS);
    }
  }

  function renderPager(total) {
    const pages = Math.max(1, Math.ceil(total / filters.pageSize));
    fill(
      pager,
      h('span', {}, `${total} image${total === 1 ? '' : 's'} · page ${filters.page} of ${pages}`),
      h(
        'button',
        { disabled: filters.page <= 1, onclick: () => ((filters.page -= 1), refresh()) },
        '‹ Previous',
      ),
      h(
        'button',
        { disabled: filters.page >= pages, onclick: () => ((filters.page += 1), refresh()) },
        'Next ›',
      ),
    );
  }

  function render(images) {
    if (images.length === 0) {
      fill(table, h('p', { class: 'empty' }, 'No images match.'));
      return;
    }
    fill(
      table,
      h(
        'table',
        { id: 'images' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Image', 'Status', 'Size', 'OS', 'Owner', 'Sharing', 'Tags', 'Actions'].map((t) => h('th', {}, t)),
          ),
        ),
        h('tbody', {}, images.map(row)),
      ),
    );
  }

  function row(image) {
    const own = image.ImageOwnerAlias === 'self';
    const tags = image.Tags?.Tag || [];
    const actions = [];
    if (image.Status === 'Available' || image.Status === 'Deprecated') {
      actions.push(h('button', { onclick: () => run(() => launch(image)) }, 'Launch instance'));
    }
    if (own && IN_PROGRESS.has(image.Status) && image.IsCopied) {
      actions.push(
        h('button', { onclick: () => run(() => call('CancelCopyImage', { RegionId: app.region, ImageId: image.ImageId })) }, 'Cancel copy'),
      );
    }
    if (own) {
      actions.push(
        h('button', { onclick: () => share(image) }, 'Share…'),
        h(
          'button',
          {
            onclick: () =>
              run(() =>
                call('ModifyImageSharePermission', {
                  RegionId: app.region,
                  ImageId: image.ImageId,
                  IsPublic: !image.IsPublic,
                }),
              ),
          },
          image.IsPublic ? 'Unpublish' : 'Publish',
        ),
        h('button', { onclick: () => copy(image) }, 'Copy…'),
        h('button', { onclick: () => exportImage(image) }, 'Export…'),
        h('button', { class: 'danger', onclick: () => remove(image) }, 'Delete'),
      );
    }
    return h(
      'tr',
      { 'data-image-id': image.ImageId },
      h('td', {}, h('div', { class: 'name' }, image.ImageName || image.ImageId), h('code', {}, image.ImageId)),
      statusCell(image),
      h('td', {}, image.Size ? `${image.Size} GiB` : ''),
      h('td', {}, h('div', {}, image.OSNameEn || image.OSName || ''), h('small', {}, image.Architecture || '')),
      h('td', {}, image.ImageOwnerAlias),
      h('td', { class: 'sharing' }, shareState(image)),
      h('td', {}, tags.map((t) => h('span', { class: 'tag' }, t.TagValue ? `${t.TagKey}=${t.TagValue}` : t.TagKey))),
      h('td', { class: 'actions' }, h('div', { class: 'actions-list' }, actions)),
    );
  }

  async function launch(image) {
    const body = await call('RunInstances', {
      RegionId: app.region,
      ImageId: image.ImageId,
      InstanceType: instanceTypeFor(image),
    });
    const ids = body.InstanceIdSets?.InstanceIdSet || [];
    app.showNotice(`Instance ${ids.join(', ')} launched from ${image.ImageId}.`);
  }

  async function createImage() {
    let instances;
    try {
      const body = await call('DescribeInstances', { RegionId: app.region, PageSize: 100 });
      instances = body.Instances?.Instance || [];
    } catch (e) {
      app.showError(e);
      return;
    }
    if (instances.length === 0) {
      app.showNotice('There are no instances in this region yet: launch one from an image first.');
      return;
    }
    const values = await formDialog(
      'Create an image from an instance',
      [
        {
          name: 'InstanceId',
          label: 'Instance',
          options: instances.map((i) => ({
            value: i.InstanceId,
            label: `${i.InstanceId} · ${i.InstanceName} · ${i.Status} · from ${i.ImageId}`,
          })),
        },
        { name: 'ImageName', label: 'Image name', placeholder: 'web-v1' },
        { name: 'Description', label: 'Description' },
      ],
      'Create image',
    );
    if (!values) return;
    await run(async () => {
      const body = await call('CreateImage', { RegionId: app.region, ...values });
      app.showNotice(`Image ${body.ImageId} is being created.`, body.ImageId);
    });
  }

  /** DeleteImage; for ImageUsingByInstance, name the instances and offer Force. */
  async function remove(image) {
    const confirmed = await modal(`Delete ${image.ImageName || image.ImageId}?`, (close) =>
      h(
        'div',
        {},
        h('p', {}, `The image ${image.ImageId} will be deleted. Its snapshots are kept.`),
        h(
          'div',
          { class: 'buttons' },
          h('button', { class: 'danger', onclick: () => close(true) }, 'Delete image'),
          h('button', { onclick: () => close(false) }, 'Cancel'),
        ),
      ),
    );
    if (!confirmed) return;
    try {
      await call('DeleteImage', { RegionId: app.region, ImageId: image.ImageId });
      app.showNotice(`Image ${image.ImageId} deleted.`);
    } catch (e) {
      if (e.code !== 'ImageUsingByInstance') {
        app.showError(e);
        await refresh();
        return;
      }
      await forceDelete(image, e);
    }
    await refresh();
  }

  async function forceDelete(image, refusal) {
    let users = [];
    try {
      const body = await call('DescribeInstances', {
        RegionId: app.region,
        ImageId: image.ImageId,
        PageSize: 100,
      });
      users = body.Instances?.Instance || [];
    } catch (e) {
      app.showError(e);
    }
    const force = await modal('The image is in use', (close) =>
      h(
        'div',
        { id: 'force-delete' },
        h('p', { class: 'refusal' }, h('strong', { class: 'code' }, refusal.code), ' ', explain(refusal)),
        h('p', {}, `Instances launched from ${image.ImageId}:`),
        h(
          'ul',
          { class: 'instances' },
          users.map((i) =>
            h(
              'li',
              {},
              h('code', {}, i.InstanceId),
              i.InstanceName && i.InstanceName !== i.InstanceId ? ` “${i.InstanceName}”` : '',
              ` (${i.Status})`,
            ),
          ),
        ),
        h(
          'p',
          { class: 'hint' },
          'Forcing deletes the image anyway: these instances keep running but their system disks can no longer be re-initialised from it.',
        ),
        h(
          'div',
          { class: 'buttons' },
          h('button', { class: 'danger', onclick: () => close(true) }, 'Force delete'),
          h('button', { onclick: () => close(false) }, 'Cancel'),
        ),
      ),
    );
    if (!force) {
      app.showError(refusal);
      return;
    }
    try {
      await call('DeleteImage', { RegionId: app.region, ImageId: image.ImageId, Force: true });
      app.showNotice(`Image ${image.ImageId} deleted (forced).`);
    } catch (e) {
      app.showError(e);
    }
  }

  async function share(image) {
    let current = [];
    try {
      const body = await call('DescribeImageSharePermission', {
        RegionId: app.region,
        ImageId: image.ImageId,
        PageSize: 100,
      });
      current = (body.Accounts?.Account || []).map((a) => a.AliyunId);
    } catch (e) {
      app.showError(e);
      return;
    }
    const values = await formDialog(
      `Share ${image.ImageId}`,
      [
        { name: 'add', label: 'Share with account ids (comma separated)' },
        { name: 'remove', label: 'Stop sharing with (comma separated)', value: '' },
      ],
      'Apply',
      current.length ? `Shared with: ${current.join(', ')}` : 'Not shared with any account.',
    );
    if (!values) return;
    const ids = (text) => text.split(/[\s,]+/).filter(Boolean);
    await run(() =>
      call('ModifyImageSharePermission', {
        RegionId: app.region,
        ImageId: image.ImageId,
        AddAccount: ids(values.add),
        RemoveAccount: ids(values.remove),
      }),
    );
  }

  async function copy(image) {
    const values = await formDialog(
      `Copy ${image.ImageId} to a region`,
      [
        {
          name: 'DestinationRegionId',
          label: 'Destination region',
          value: app.region,
          options: app.regions.map((r) => ({ value: r.RegionId, label: `${r.LocalName} · ${r.RegionId}` })),
        },
        { name: 'DestinationImageName', label: 'Name of the copy' },
      ],
      'Copy image',
    );
    if (!values) return;
    await run(async () => {
      const body = await call('CopyImage', { RegionId: app.region, ImageId: image.ImageId, ...values });
      app.showNotice(`Copy ${body.ImageId} is being created in ${values.DestinationRegionId}.`, body.ImageId);
    });
  }

  async function exportImage(image) {
    const values = await formDialog(
      `Export ${image.ImageId} to OSS`,
      [
        { name: 'OSSBucket', label: 'OSS bucket (same region)', required: true },
        { name: 'OSSPrefix', label: 'Object prefix' },
        {
          name: 'ImageFormat',
          label: 'Format',
          value: 'raw',
          options: ['raw', 'vhd', 'qcow2', 'vmdk', 'vdi'].map((f) => ({ value: f })),
        },
      ],
      'Export',
    );
    if (!values) return;
    await run(async () => {
      const body = await call('ExportImage', { RegionId: app.region, ImageId: image.ImageId, ...values });
      app.showNotice(`Export task ${body.TaskId} started; follow it on the Tasks page.`);
    });
  }

  refresh();
}
