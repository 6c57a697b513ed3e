<?php
/**
 * The HTML of a block: the service's JSON items as cards, in the widget's markup (the same
 * classes, so /widget.css styles both, and the widget's refresh in the browser replaces the
 * list without a jump). Everything from the service is escaped; only http(s) links and images
 * are kept. The one place to change when the service serves HTML fragments itself.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Renders related / most viewed lists.
 */
class Newsrec_Renderer {

	/** Block kinds: the widget's placeholder attribute and list element of each. */
	const KINDS = array(
		'related'     => array( 'data-newsrec-related', 'ul' ),
		'most-viewed' => array( 'data-newsrec-most-viewed', 'ol' ),
	);

	/**
	 * A block, or '' when there is nothing to show (the block is then left out).
	 *
	 * @param string $kind  'related' or 'most-viewed'.
	 * @param array  $items The service's items (id, title, url, category, published_at, image_url).
	 * @param array  $args  title, heading_level (2-6), n, article_id (related), window and
	 *                      category (most viewed), widget (bool: let /widget.js refresh the block
	 *                      in the browser), format_date (callable: unix time -> text).
	 * @return string HTML.
	 */
	public static function render( $kind, array $items, array $args ) {
		if ( ! isset( self::KINDS[ $kind ] ) ) {
			return '';
		}
		list( $marker, $list_tag ) = self::KINDS[ $kind ];
		$format_date               = isset( $args['format_date'] ) && is_callable( $args['format_date'] )
			? $args['format_date'] : array( __CLASS__, 'default_date' );
		$cards                     = '';
		foreach ( $items as $item ) {
			$cards .= is_array( $item ) ? self::card( $item, $format_date ) : '';
		}
		if ( '' === $cards ) {
			return '';
		}
		$title = trim( (string) ( $args['title'] ?? '' ) );
		$level = (int) ( $args['heading_level'] ?? 2 );
		$level = ( $level >= 2 && $level <= 6 ) ? $level : 2;
		$attrs = array(
			'class'              => 'newsrec-block newsrec-block--' . $kind,
			$marker              => '',
			'data-article-id'    => 'related' === $kind ? (string) ( $args['article_id'] ?? '' ) : null,
			'data-n'             => (string) (int) ( $args['n'] ?? 5 ),
			'data-title'         => $title,
			'data-heading-level' => (string) $level,
			'data-window'        => 'most-viewed' === $kind ? (string) ( $args['window'] ?? '' ) : null,
			'data-category'      => 'most-viewed' === $kind ? (string) ( $args['category'] ?? '' ) : null,
			// Without the widget the block is final: a widget loaded by the theme leaves it alone.
			'data-newsrec-state' => empty( $args['widget'] ) ? 'done' : null,
		);
		$html  = '<div';
		foreach ( $attrs as $name => $value ) {
			if ( null === $value || ( '' === $value && 'data-' === substr( $name, 0, 5 ) && $name !== $marker ) ) {
				continue;
			}
			$html .= '' === $value ? ' ' . $name : ' ' . $name . '="' . esc_attr( $value ) . '"';
		}
		$html .= '><section class="newsrec newsrec--' . $kind . '" aria-label="' . esc_attr( $title ) . '">';
		$html .= '<h' . $level . ' class="newsrec__title">' . esc_html( $title ) . '</h' . $level . '>';
		$html .= '<' . $list_tag . ' class="newsrec__list">' . $cards . '</' . $list_tag . '>';
		return $html . '</section></div>';
	}

	/**
	 * One card, or '' for an item without a title or an http(s) link.
	 *
	 * @param array    $item        A service item.
	 * @param callable $format_date Unix time -> text.
	 * @return string
	 */
	public static function card( array $item, $format_date ) {
		$href  = self::http_url( $item['url'] ?? '' );
		$title = is_scalar( $item['title'] ?? null ) ? trim( (string) $item['title'] ) : '';
		if ( '' === $href || '' === $title ) {
			return '';
		}
		$html = '<li class="newsrec__item"><a class="newsrec__card" href="' . esc_url( $href ) . '">';
		$src  = self::http_url( $item['image_url'] ?? '' );
		if ( '' !== $src ) {
			// Decorative: the headline in the same link names it (WCAG technique H2).
			$html .= '<img class="newsrec__image" src="' . esc_url( $src ) . '" alt="" loading="lazy" decoding="async">';
		}
		$html    .= '<span class="newsrec__headline">' . esc_html( $title ) . '</span>';
		$meta     = '';
		$category = is_scalar( $item['category'] ?? null ) ? (string) $item['category'] : '';
		if ( '' !== $category ) {
			$meta .= '<span class="newsrec__section">' . esc_html( $category ) . '</span>';
		}
		$published = is_string( $item['published_at'] ?? null ) ? $item['published_at'] : '';
		$time      = '' === $published ? false : strtotime( $published );
		if ( false !== $time ) {
			$meta .= '<time class="newsrec__date" datetime="' . esc_attr( $published ) . '">'
				. esc_html( (string) call_user_func( $format_date, $time ) ) . '</time>';
		}
		if ( '' !== $meta ) {
			$html .= '<span class="newsrec__meta">' . $meta . '</span>';
		}
		return $html . '</a></li>';
	}

	/**
	 * The URL when it is an absolute http: or https: URL, else ''.
	 *
	 * @param mixed $value A URL from the service.
	 * @return string
	 */
	public static function http_url( $value ) {
		if ( ! is_string( $value ) ) {
			return '';
		}
		$value = trim( $value );
		if ( ! preg_match( '#^https?://[^\s/?\#]+#i', $value ) || preg_match( '/[\x00-\x20\x7f]/', $value ) ) {
			return '';
		}
		return $value;
	}

	/**
	 * Date text without WordPress (the plugin passes wp_date with the site's format).
	 *
	 * @param int $time Unix time.
	 * @return string
	 */
	public static function default_date( $time ) {
		return gmdate( 'j M Y', (int) $time );
	}
}
