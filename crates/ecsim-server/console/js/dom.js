// A tiny element builder: text always goes in as text nodes, never as HTML.

/** h('button', {class: 'x', onclick: fn}, 'Label', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'value') {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * A modal dialog; `body` builds its content given a `close(result)` function. Resolves with the
 * value passed to close (undefined when dismissed with Escape).
 */
export function modal(title, body) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'modal' });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.append(h('h2', {}, title), body(close));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A form dialog: `fields` are [{name, label, value, type, options}]; resolves with the values. */
export function formDialog(title, fields, submitLabel, intro) {
  return modal(title, (close) => {
    const inputs = {};
    const rows = fields.map((f) => {
      let input;
      if (f.options) {
        input = h(
          'select',
          { name: f.name },
          f.options.map((o) =>
            h('option', { value: o.value, selected: o.value === f.value }, o.label ?? o.value),
          ),
        );
      } else {
        input = h('input', {
          name: f.name,
          type: f.type || 'text',
          value: f.value ?? '',
          placeholder: f.placeholder,
          required: f.required,
        });
      }
      inputs[f.name] = input;
      return h('label', {}, h('span', {}, f.label), input);
    });
    const form = h(
      'form',
      { method: 'dialog' },
      intro ? h('p', {}, intro) : null,
      rows,
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary' }, submitLabel),
        h('button', { type: 'button', onclick: () => close(undefined) }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      close(Object.fromEntries(Object.entries(inputs).map(([n, i]) => [n, i.value.trim()])));
    });
    return form;
  });
}
