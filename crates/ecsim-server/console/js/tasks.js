// The Tasks page: DescribeTasks in one region with live progress (DescribeTaskAttribute's
// TaskProcess) and CancelTask for the tasks ECS lets you cancel (imports and exports).

import { call } from './api.js';
import { fill, h } from './dom.js';

const POLL_MS = 1500;
const RUNNING = new Set(['Waiting', 'Processing']);

export function tasksPage(root, app, generation) {
  const filters = { status: '', action: '' };
  const table = h('div', { class: 'table-wrap' });
  let timer;

  const select = (key, choices) =>
    h(
      'select',
      { onchange: (e) => ((filters[key] = e.target.value), refresh()) },
      choices.map(([value, label]) => h('option', { value }, label)),
    );

  fill(
    root,
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, `Tasks · ${app.region}`),
        h('span', { class: 'grow' }),
        select('status', [['', 'Any status'], ['Processing', 'Processing'], ['Finished', 'Finished'], ['Failed', 'Failed']]),
        select('action', [['', 'Any action'], ['ImportImage', 'ImportImage'], ['ExportImage', 'ExportImage'], ['CopyImage', 'CopyImage']]),
        h('button', { onclick: () => refresh() }, 'Refresh'),
      ),
      table,
    ),
  );

  async function progressOf(task) {
    if (!RUNNING.has(task.TaskStatus)) return task.TaskStatus === 'Finished' ? 100 : null;
    try {
      const detail = await call('DescribeTaskAttribute', { RegionId: app.region, TaskId: task.TaskId });
      return parseInt(detail.TaskProcess, 10) || 0;
    } catch {
      return null;
    }
  }

  async function refresh() {
    clearTimeout(timer);
    if (generation !== app.generation) return;
    let tasks;
    try {
      const body = await call('DescribeTasks', {
        RegionId: app.region,
        TaskStatus: filters.status,
        TaskAction: filters.action,
        PageSize: 100,
      });
      tasks = body.TaskSet?.Task || [];
    } catch (e) {
      app.showError(e);
      return;
    }
    const progress = await Promise.all(tasks.map(progressOf));
    if (generation !== app.generation) return;
    render(tasks, progress);
    if (tasks.some((t) => RUNNING.has(t.TaskStatus))) timer = setTimeout(refresh, POLL_MS);
  }

  async function cancel(task) {
    try {
      await call('CancelTask', { RegionId: app.region, TaskId: task.TaskId });
      app.showNotice(`Task ${task.TaskId} cancelled.`);
    } catch (e) {
      app.showError(e);
    }
    refresh();
  }

  function render(tasks, progress) {
    if (tasks.length === 0) {
      fill(table, h('p', { class: 'empty' }, 'No tasks in this region.'));
      return;
    }
    fill(
      table,
      h(
        'table',
        { id: 'tasks' },
        h('thead', {}, h('tr', {}, ['Task', 'Action', 'Status', 'Progress', 'Resource', 'Created', 'Finished', ''].map((t) => h('th', {}, t)))),
        h(
          'tbody',
          {},
          tasks.map((t, i) =>
            h(
              'tr',
              { 'data-task-id': t.TaskId },
              h('td', {}, h('code', {}, t.TaskId)),
              h('td', {}, t.TaskAction),
              h('td', {}, h('span', { class: `badge ${t.TaskStatus}`, 'data-status': t.TaskStatus }, t.TaskStatus)),
              h(
                'td',
                {},
                progress[i] === null
                  ? '—'
                  : h('div', { class: 'progress' }, h('progress', { max: 100, value: progress[i] }), h('small', {}, `${progress[i]}%`)),
              ),
              h('td', {}, h('code', {}, t.ResourceId || '')),
              h('td', {}, t.CreationTime),
              h('td', {}, t.FinishedTime || ''),
              h(
                'td',
                {},
                String(t.SupportCancel) === 'true'
                  ? h('button', { class: 'danger', onclick: () => cancel(t) }, 'Cancel')
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  refresh();
}
